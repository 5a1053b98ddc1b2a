"""The browser tests' Chromium (Debian's, through Playwright) and the Daphne it drives.

One daphne per module (in-memory layer, SQLite in a temp dir), one fresh room per test.
Without chromium the run fails, never skips: a green run means the page was really driven.
"""

import shutil
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.browser.pages import VIEWPORT, WAIT_MS, Tab, expect_link
from tests.servers import daphne

CHROMIUM_MISSING = (
    "chromium is not installed (no `chromium` on PATH), and the browser tests need it. "
    "Install it: apt-get install chromium (Debian/Ubuntu), or run .ci/run, which does."
)


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.fail(CHROMIUM_MISSING, pytrace=False)
    return found


@pytest.fixture(scope="module")
def server(chromium: str) -> Iterator[str]:
    """A daphne serving the project with its defaults: in-memory layer, SQLite."""
    with daphne() as url:
        yield url


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Tab]]:
    """Open a URL in a new browser context; by default, wait for its WebSocket. ``device``
    overrides the context's options, e.g. ``PHONE``."""
    contexts = []

    def open_tab(url: str, wait_live: bool = True, device: dict | None = None) -> Tab:
        context = browser.new_context(**{"viewport": VIEWPORT, **(device or {})})
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        tab = Tab(context.new_page())
        tab.response = tab.page.goto(url)
        if wait_live:
            expect_link(tab.page, "live")
        return tab

    yield open_tab
    for context in contexts:
        context.close()


@pytest.fixture
def open_room(open_page: Callable[..., Tab], server: str, room: str) -> Callable[..., Tab]:
    """Open this test's room on the module's server."""
    return lambda wait_live=True: open_page(f"{server}/{room}/", wait_live)
