"""The browser tests' Chromium (Debian's, through Playwright) and the Daphne it drives.

One daphne per module and htmx version (in-memory layer, SQLite in a temp dir), one fresh
room per test. The page runs htmx 2 unless a test is marked ``each_htmx`` (pages.py): it
then runs under htmx 2 and under htmx 4, each on a daphne of that version.
Without chromium the run fails, never skips: a green run means the page was really driven.
"""

import shutil
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.browser.pages import VIEWPORT, WAIT_MS, Tab, expect_link
from tests.servers import served

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
def htmx(request: pytest.FixtureRequest) -> int:
    """The htmx major version the page runs (DASHBOARD_HTMX): 2, unless ``each_htmx``."""
    return getattr(request, "param", 2)


@pytest.fixture(scope="module")
def htmx_env(htmx: int) -> dict[str, str]:
    """What a server of a test's own needs to serve the page with this test's htmx."""
    return {"DASHBOARD_HTMX": str(htmx)}


@pytest.fixture(scope="module")
def server(chromium: str, htmx_env: dict[str, str]) -> Iterator[str]:
    """A daphne serving the project with its defaults (in-memory layer, SQLite), and the
    test's htmx."""
    with served(env=htmx_env) as running:
        yield running.url


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
def open_page(browser: Browser, htmx: int) -> Iterator[Callable[..., Tab]]:
    """Open a URL in a new browser context; by default, wait for its WebSocket. ``device``
    overrides the context's options, e.g. ``PHONE``. The page must run the test's htmx."""
    contexts = []

    def open_tab(url: str, wait_live: bool = True, device: dict | None = None) -> Tab:
        context = browser.new_context(**{"viewport": VIEWPORT, **(device or {})})
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        tab = Tab(context.new_page())
        tab.response = tab.page.goto(url)
        running = tab.page.evaluate("() => htmx.version")
        assert running.split(".")[0] == str(htmx), f"the page runs htmx {running}, not {htmx}"
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
