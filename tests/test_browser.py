"""The dashboard in a real browser: Debian's chromium driven by Playwright against daphne.

One daphne per module (in-memory layer, SQLite in a temp dir), one fresh room per test.
The page is htmx 2 with its ws extension swapping server-rendered fragments, so these tests
check what only a browser shows: forms sending frames, fragments landing by id, escaping.
Assertions wait with generous timeouts and never sleep: the machine is shared.
"""

import os
import re
import shutil
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Locator,
    Page,
    Response,
    expect,
    sync_playwright,
)

from tests.server import daphne

pytestmark = pytest.mark.browser
WAIT_MS = 15_000  # generous: streams are short, but the machine is shared
CHROMIUM_MISSING = "chromium is not installed: apt-get install chromium"


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(CHROMIUM_MISSING)
        pytest.skip(CHROMIUM_MISSING)
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


class Tab:
    """One page in a browser context of its own, with the errors its console reported."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.response: Response | None = None  # the page as the server rendered it
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")


@pytest.fixture
def open_room(browser: Browser, server: str, room: str) -> Iterator[Callable[..., Tab]]:
    """Open this test's room in a new browser context; by default, wait for its WebSocket."""
    contexts = []

    def open_tab(wait_live: bool = True) -> Tab:
        context = browser.new_context()
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        tab = Tab(context.new_page())
        tab.response = tab.page.goto(f"{server}/{room}/")
        if wait_live:
            wait_until_live(tab.page)
        return tab

    yield open_tab
    for context in contexts:
        context.close()


def wait_until_live(page: Page) -> None:
    expect(page.locator("body")).to_have_attribute("data-link", "live")


def start(page: Page, mode: str, count: int, interval: float, streams: int) -> None:
    form = page.locator(f"#start-{mode}")
    form.locator("input[name=count]").fill(str(count))
    form.locator("input[name=interval]").fill(str(interval))
    form.locator("input[name=streams]").fill(str(streams))
    form.locator("button").click()


def cards(page: Page, mode: str, selector: str = "") -> Locator:
    """Each stream card's live body, which carries its state and its tick count."""
    return page.locator(f"#{mode}-streams .card-body{selector}")


def card_numbers(page: Page, mode: str) -> set[int]:
    ids = cards(page, mode).evaluate_all("cards => cards.map(card => card.id)")
    return {int(card_id.removeprefix("stream-").removesuffix("-body")) for card_id in ids}


def history_waited(page: Page, rows: int) -> dict[int, float]:
    """Stream number -> its 'Waited' seconds, once the finished runs table has ``rows``
    rows: a run's row arrives after its card says done (the database write is between)."""
    expect(page.locator("tbody#history-rows tr")).to_have_count(rows)
    headers = page.locator("section.history thead th").all_inner_texts()
    stream_col, waited_col = headers.index("Stream"), headers.index("Waited")
    rows = page.locator("tbody#history-rows tr").evaluate_all(
        "rows => rows.map(row => Array.from(row.cells, cell => cell.textContent.trim()))"
    )
    waited = {}
    for cells in rows:
        seconds = re.fullmatch(r"([\d.]+) s", cells[waited_col])
        assert seconds, f"no waited time in {cells}"
        waited[int(cells[stream_col].removeprefix("#"))] = float(seconds.group(1))
    return waited


def seq_at_least(page: Page, number: int, seq: int) -> None:
    page.wait_for_function(
        "([id, seq]) => Number(document.getElementById(id)?.dataset.seq) >= seq",
        arg=[f"stream-{number}-body", seq],
        timeout=WAIT_MS,
    )


def test_browser_start_both_columns_ticks_live_in_two_browsers(open_room):
    a, b = open_room(), open_room()

    start(a.page, "sync", count=5, interval=0.2, streams=1)
    start(a.page, "async", count=5, interval=0.2, streams=2)

    for tab in (a, b):
        expect(cards(tab.page, "sync", ".state-done[data-seq='5']")).to_have_count(1)
        expect(cards(tab.page, "async", ".state-done[data-seq='5']")).to_have_count(2)
        expect(cards(tab.page, "sync")).to_have_count(1)
        expect(cards(tab.page, "async")).to_have_count(2)
    assert a.errors == [] and b.errors == []


def test_browser_late_joiner_sees_current_counters(open_room, server, room):
    a = open_room()
    start(a.page, "async", count=40, interval=0.1, streams=1)
    expect(cards(a.page, "async")).to_have_count(1)
    [number] = card_numbers(a.page, "async")
    seq_at_least(a.page, number, 5)

    b = open_room(wait_live=False)
    # Before any WebSocket frame: the counter as the server rendered the page.
    assert b.response is not None and b.response.ok
    served = re.search(
        rf'id="stream-{number}-body" class="card-body state-running" data-seq="(\d+)"',
        b.response.text(),
    )
    assert served, "the late joiner's page has no running card"
    assert int(served.group(1)) >= 5
    first = int(cards(b.page, "async").get_attribute("data-seq"))
    assert first >= 5
    wait_until_live(b.page)

    seq_at_least(b.page, number, first + 3)
    expect(cards(b.page, "async", ".state-done[data-seq='40']")).to_have_count(1)
    assert a.errors == [] and b.errors == []


def test_browser_chat_is_escaped(open_room):
    a, b = open_room(), open_room()
    text = '<img src=x onerror="window.pwned=1"><b>bold</b>'

    a.page.locator("#chat-form input[name=text]").fill(text)
    a.page.locator("#chat-form button").click()

    for tab in (a, b):
        line = tab.page.locator("#chat-log p.chat-line")
        expect(line).to_have_count(1)
        said = line.evaluate(
            "p => Array.from(p.childNodes).filter(n => n.nodeName !== 'TIME')"
            ".map(n => n.textContent).join('').trim()"
        )
        assert said == text
        assert tab.page.locator("#chat-log img, #chat-log b").count() == 0
        assert tab.page.evaluate("() => typeof window.pwned") == "undefined"
    assert a.errors == [] and b.errors == []


def test_browser_bad_input_shows_error_in_panel(open_room):
    a = open_room()
    count = a.page.locator("#start-sync input[name=count]")
    # Past the browser's own validation, so that the server's is what answers.
    count.evaluate(
        "input => ['min', 'max', 'required'].forEach(name => input.removeAttribute(name))"
    )
    count.fill("0")
    a.page.locator("#start-sync button").click()

    expect(a.page.locator("#errors-sync")).to_contain_text("Ticks must be between 1 and 10000")
    expect(cards(a.page, "sync")).to_have_count(0)

    start(a.page, "sync", count=3, interval=0.1, streams=1)
    expect(a.page.locator("#errors-sync")).to_have_text("")
    expect(cards(a.page, "sync", ".state-done[data-seq='3']")).to_have_count(1)
    expect(cards(a.page, "sync")).to_have_count(1)
    assert a.errors == []


def test_browser_sync_streams_wait_under_default_and_run_together_per_connection(open_room):
    a = open_room()
    expect(a.page.locator("#thread-model input[value=shared]")).to_be_checked()

    start(a.page, "sync", count=4, interval=0.25, streams=3)
    expect(cards(a.page, "sync")).to_have_count(3)
    expect(cards(a.page, "sync", ".state-done")).to_have_count(3)
    shared = card_numbers(a.page, "sync")
    waited = history_waited(a.page, 3)
    assert set(waited) == shared
    # One shared thread: each stream waits for the ones before it (~1 s each).
    assert max(waited.values()) - min(waited.values()) >= 1.5, waited

    # Mark the form, so that its replacement shows the server has the new model.
    a.page.evaluate("() => { document.getElementById('thread-model').stale = true; }")
    a.page.locator("#thread-model input[value=per_connection]").check()
    a.page.wait_for_function(
        "() => { const form = document.getElementById('thread-model');"
        " return !form.stale && form.querySelector('input[value=per_connection]').checked; }",
        timeout=WAIT_MS,
    )

    start(a.page, "sync", count=4, interval=0.25, streams=3)
    expect(cards(a.page, "sync")).to_have_count(6)
    expect(cards(a.page, "sync", ".state-done")).to_have_count(6)
    own = card_numbers(a.page, "sync") - shared
    assert len(own) == 3
    waited = history_waited(a.page, 6)
    assert all(waited[number] < 1.0 for number in own), waited
    assert a.errors == []


def test_browser_stop_and_reset(open_room):
    a = open_room()
    start(a.page, "async", count=200, interval=0.05, streams=1)
    expect(cards(a.page, "async", ".state-running")).to_have_count(1)

    # Pressed as a person presses a button: 100 ms between mouse down and mouse up.
    a.page.locator("#async-streams form.stop button").click(delay=100)
    expect(cards(a.page, "async", ".state-stopped")).to_have_count(1)
    stopped_at = int(cards(a.page, "async").get_attribute("data-seq"))
    assert stopped_at < 200

    a.page.locator("#room-controls button").click()
    expect(cards(a.page, "async")).to_have_count(0)
    assert a.errors == []


def test_browser_viewer_reconnects_after_a_normal_close(open_room):
    """Daphne ends every socket with 1000 after its 24 h websocket_timeout; htmx would not
    retry that, so the page does."""
    a = open_room()
    a.page.evaluate(
        "document.getElementById('viewer')['htmx-internal-data'].webSocket.socket.close(1000)"
    )
    expect(a.page.locator("body")).to_have_attribute("data-link", "lost")
    wait_until_live(a.page)

    a.page.locator("#chat-form input[name=text]").fill("back again")
    a.page.locator("#chat-form input[name=text]").press("Enter")
    expect(a.page.locator("#chat-log p.chat-line")).to_contain_text("back again")
    assert a.errors == []


def test_browser_shows_a_refused_handshake_as_a_retry(open_room):
    """A handshake that arrives while an 8 s sync loop holds the shared thread outlasts
    Daphne's 5 s limit: it is refused, htmx retries, the card says so, and the stream
    starts soon after the loop ends."""
    a = open_room()
    start(a.page, "sync", count=16, interval=0.5, streams=1)
    expect(cards(a.page, "sync", ".state-running")).to_have_count(1)
    start(a.page, "sync", count=1, interval=0.1, streams=1)

    retrying = a.page.locator("#sync-streams .status", has_text="shared sync thread, retry")
    expect(retrying).to_have_count(1, timeout=15_000)
    expect(cards(a.page, "sync", ".state-done")).to_have_count(2, timeout=25_000)
    waits = sorted(history_waited(a.page, 2).values())
    assert waits[0] < 1.0
    assert 6.0 < waits[1] < 11.0, waits  # the rest of the 8 s loop, then a prompt retry
    # The refused handshake (HTTP 403) is reported by Chromium ("WebSocket connection ...
    # failed") and by htmx's htmx:wsError ("[object Event]"); nothing else may fail.
    expected = ("WebSocket", "[object Event]")
    assert [e for e in a.errors if not any(x in e for x in expected)] == []
