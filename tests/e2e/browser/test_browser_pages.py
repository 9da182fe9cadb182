"""The landing, continue, error and signed-out pages in a real browser: one product."""

from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from testsupport.launches import PartnerClient
from tilt_devstack.stack import RunningStack

pytestmark = pytest.mark.e2e

PREVIEW_HEADERS = {"Sec-Purpose": "prefetch"}


def assert_accessible(page: Page) -> None:
    """Language, a title, one top heading, and text that stands without CSS."""
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.title()
    assert page.get_by_role("heading", level=1).count() == 1
    assert page.locator("main").inner_text().strip()
    for button in page.get_by_role("button").all():
        assert button.inner_text().strip(), "every button says what it does"


def test_a_link_preview_gets_a_continue_button_that_signs_in(
    stack: RunningStack, chromium: Browser, screenshots: Path
) -> None:
    """A prefetching browser sees the continue page; its button redeems the link."""
    context = chromium.new_context(extra_http_headers=PREVIEW_HEADERS)
    try:
        page = context.new_page()
        page.goto(PartnerClient(stack, stack.demo).launch_url(display_name="Lin"))
        assert_accessible(page)
        page.screenshot(path=screenshots / "continue.png", full_page=True)

        context.set_extra_http_headers({})
        page.get_by_role("button", name="Continue to Tilt POS").click()
        page.wait_for_url("**/sale")

        assert page.locator("#display-name").inner_text() == "Lin"
    finally:
        context.close()


@pytest.mark.parametrize(
    ("query", "heading", "name"),
    [
        ("token=not-a-token", "This link is not valid", "invalid"),
        ("", "This link is not valid", "missing"),
    ],
)
def test_error_pages_say_what_happened_and_what_to_do(
    stack: RunningStack,
    context: BrowserContext,
    screenshots: Path,
    query: str,
    heading: str,
    name: str,
) -> None:
    """A broken link shows a plain page with a heading, advice and a stable code."""
    page = context.new_page()

    response = page.goto(f"{stack.config.token_url}/launch?{query}")

    assert response is not None
    assert response.status == 400
    assert page.locator("h1").inner_text() == heading
    assert "new link" in page.locator("main").inner_text()
    assert_accessible(page)
    page.screenshot(path=screenshots / f"error-{name}.png", full_page=True)


def test_every_page_uses_the_one_stylesheet_the_csp_allows(
    stack: RunningStack, context: BrowserContext
) -> None:
    """The sale and signed-out pages load /static/pos.css with no CSP violation."""
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text))
    page.goto(PartnerClient(stack, stack.demo).launch_url(display_name="Sam"))
    assert_accessible(page)

    margin = page.locator("body").evaluate("e => getComputedStyle(e).maxWidth")
    page.goto(f"{stack.config.token_url}/signed-out")
    assert_accessible(page)

    assert margin == "576px", "the stylesheet's 36rem column was applied"
    assert [text for text in violations if "Content Security Policy" in text] == []
