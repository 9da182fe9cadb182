"""Headless Chromium from the system's `chromium` package, driven by Playwright.

No browser is downloaded: Playwright launches the Debian build at
CHROMIUM_PATH. Without it the browser tests fail, naming the package to
install; CI installs it (.ci/run).
"""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright

from testsupport.stack import ARTIFACTS

CHROMIUM_PATH: Final = Path(os.environ.get("TILT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS: Final = [
    "--headless",
    "--no-sandbox",  # tests run as root in CI, where the sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS: Final = ARTIFACTS / "browser"


# Module scope: while Playwright's sync driver runs, its event loop counts as
# running in this thread, so the other suites' `asyncio.run` must not overlap it.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    """One headless Chromium per module; each test opens its own contexts."""
    if not CHROMIUM_PATH.is_file():
        pytest.fail(
            f"expected Chromium at {CHROMIUM_PATH}: install Debian's package "
            "(apt-get install -y chromium) or set TILT_CHROMIUM; "
            "Playwright's own browser download is not used",
            pytrace=False,
        )
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM_PATH), args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def context(chromium: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile: its own cookies, cache and history."""
    opened = chromium.new_context()
    opened.set_default_timeout(20_000)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
