"""A launch link in a real browser: sale page, reload, reuse, sign-out (DESIGN §10)."""

from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from testsupport.launches import PartnerClient
from tilt_devstack.stack import RunningStack

pytestmark = pytest.mark.e2e

SUPERVISOR_ONLY = "pos.report.read"


def open_link(page: Page, launch_url: str) -> int:
    response = page.goto(launch_url)
    assert response is not None
    return response.status


def test_a_link_lands_on_the_sale_page_with_the_users_details(
    stack: RunningStack, context: BrowserContext, screenshots: Path
) -> None:
    """The browser follows a fresh link and /sale shows who, where, role, rights."""
    partner = PartnerClient(stack, stack.demo)
    launch_url = partner.launch_url(
        display_name="Grace Hopper 🚀", role_slug="location_supervisor"
    )
    page = context.new_page()

    status = open_link(page, launch_url)

    assert status == 200
    assert page.url == f"{stack.config.token_url}/sale"
    assert page.locator("#display-name").inner_text() == "Grace Hopper 🚀"
    assert page.locator("#location").inner_text() == stack.demo.location_id
    assert page.locator("#role").inner_text() == "location_supervisor"
    permissions = page.locator("#permissions li").all_inner_texts()
    assert SUPERVISOR_ONLY in permissions
    assert "pos.payment.initiate" in permissions
    page.screenshot(path=screenshots / "sale.png", full_page=True)


def test_a_reload_stays_signed_in_and_the_link_is_spent_elsewhere(
    stack: RunningStack, chromium: Browser, context: BrowserContext, screenshots: Path
) -> None:
    """Reloading /sale keeps the session; the same link in another profile is used."""
    launch_url = PartnerClient(stack, stack.demo).launch_url(display_name="Ada")
    page = context.new_page()
    open_link(page, launch_url)

    page.reload()
    assert page.locator("#display-name").inner_text() == "Ada"

    other = chromium.new_context()
    try:
        stranger = other.new_page()
        status = open_link(stranger, launch_url)
        heading = stranger.locator("h1").inner_text()
        stranger.screenshot(path=screenshots / "already-used.png", full_page=True)
        cookies = other.cookies()
    finally:
        other.close()

    assert status == 410
    assert heading == "This link was already used"
    assert cookies == []


def test_a_second_user_on_a_shared_terminal_replaces_the_first(
    stack: RunningStack, context: BrowserContext
) -> None:
    """Two launches in one browser: /sale shows the second user, the first is gone."""
    partner = PartnerClient(stack, stack.demo)
    page = context.new_page()
    open_link(page, partner.launch_url(display_name="First Cashier"))
    first_cookie = {c["name"]: c["value"] for c in context.cookies()}

    open_link(page, partner.launch_url(display_name="Second Cashier"))

    assert page.locator("#display-name").inner_text() == "Second Cashier"
    second_cookie = {c["name"]: c["value"] for c in context.cookies()}
    assert second_cookie != first_cookie
    context.clear_cookies()
    context.add_cookies(
        [
            {"name": name, "value": value, "url": stack.config.token_url}
            for name, value in first_cookie.items()
        ]
    )
    page.goto(f"{stack.config.token_url}/sale")
    assert page.url == f"{stack.config.token_url}/signed-out"


def test_sign_out_ends_the_session_and_back_shows_no_cached_sale_page(
    stack: RunningStack, context: BrowserContext, screenshots: Path
) -> None:
    """After sign-out, /sale and the back button both show the signed-out page."""
    page = context.new_page()
    open_link(page, PartnerClient(stack, stack.demo).launch_url(display_name="Bob"))

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signed-out")
    page.screenshot(path=screenshots / "signed-out.png", full_page=True)
    page.go_back()

    assert page.url == f"{stack.config.token_url}/signed-out"
    assert page.locator("#display-name").count() == 0
    page.goto(f"{stack.config.token_url}/sale")
    assert page.url == f"{stack.config.token_url}/signed-out"
    assert page.locator("h1").inner_text() == "You are signed out"
