"""The dashboard in a real browser: Debian's chromium driven by Playwright against daphne.

One daphne per module (in-memory layer, SQLite in a temp dir), one fresh room per test; the
restart test runs daphnes of its own. The page is htmx with its ws extension swapping
server-rendered fragments, so these tests check what only a browser shows: forms sending
frames, fragments landing by id, escaping, the socket coming back. The main scenarios run
under htmx 2 and under htmx 4 (``each_htmx``), whose extensions differ in attributes,
frames and reconnects; the rest under htmx 2, the default. Assertions wait with generous
timeouts and never sleep: the machine is shared.

Without chromium the run fails, never skips: a green run means the page was really driven.
``make screenshot`` runs the screenshot test with DASHBOARD_SCREENSHOT set, to write
docs/dashboard.png; otherwise that picture goes to a temp dir and the tree stays clean.
"""

import itertools
import json
import os
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from playwright.sync_api import expect

from streams.choices import Mode
from streams.close_codes import CLOSE_FULL, CLOSE_TRY_AGAIN
from streams.frames import Ack, Run, Start, parse_producer_frame, parse_room_frame
from tests import cards as card_markup
from tests.browser.pages import (
    PHONE,
    VIEWPORT,
    WAIT_MS,
    card_numbers,
    cards,
    close_viewer_socket,
    closes,
    counts_seen,
    each_htmx,
    expect_finished,
    expect_link,
    expect_no_sideways_scroll,
    history,
    history_waited,
    record_counts,
    record_links,
    say,
    seq,
    seq_at_least,
    start,
    timeline_runs,
)
from tests.servers import KillableRedis, Server, served

pytestmark = pytest.mark.browser
SCREENSHOT_ENV = "DASHBOARD_SCREENSHOT"


@each_htmx
def test_browser_lobby_runs_both_modes_to_done_live_in_two_browsers(open_page, server, htmx):
    a, b = open_page(f"{server}/"), open_page(f"{server}/")
    expect(a.page.locator("h1 .room b")).to_have_text("lobby")
    record_counts(b.page)

    start(a.page, "sync", count=5, interval=0.2, streams=1)
    start(a.page, "async", count=5, interval=0.2, streams=2)

    for tab in (a, b):
        for mode, streams in (("sync", 1), ("async", 2)):
            expect(cards(tab.page, mode, ".state-done")).to_have_count(streams)
            expect(cards(tab.page, mode)).to_have_count(streams)
            for body in cards(tab.page, mode).all():
                expect_finished(body, 5)
        assert [row["Outcome"] for row in history(tab.page, 3)] == ["finished"] * 3
    # The other browser watched every tick land, in order, not just the end.
    numbers = card_numbers(b.page, "sync") | card_numbers(b.page, "async")
    for number in numbers:
        assert [n for n in counts_seen(b.page, number) if n] == [1, 2, 3, 4, 5], number
    # Each producer element went with its socket's final close; none is left to reconnect.
    expect(a.page.locator("#producers > *")).to_have_count(0)
    assert a.errors == [] and b.errors == []
    # Every frame the page sent has its htmx's shape (tests/unit/test_frames.py holds one of
    # each), and the server reads it: two starts on the page's socket, a run on each producer's.
    shape = {2: {"HEADERS"}, 4: {"headers", "body"}}[htmx]
    assert all(shape <= json.loads(text).keys() for _, text in a.sent if '"ack"' not in text)
    commands = [parse_room_frame(text) for url, text in a.sent if url.endswith("/rooms/lobby/")]
    assert [type(c) for c in commands if not isinstance(c, Ack)] == [Start, Start]
    runs = [parse_producer_frame(text, None, Mode.SYNC) for url, text in a.sent if "?" in url]
    assert len(runs) == 3 and all(isinstance(run, Run) and run.number for run in runs), runs


@each_htmx
def test_browser_late_joiner_sees_current_counters(open_room, server, room):
    a = open_room()
    start(a.page, "async", count=40, interval=0.1, streams=1)
    expect(cards(a.page, "async")).to_have_count(1)
    [number] = card_numbers(a.page, "async")
    seq_at_least(a.page, number, 5)

    b = open_room(wait_live=False)
    # Before any WebSocket frame: the counter as the server rendered the page.
    assert b.response is not None and b.response.ok
    served = [(s, seq) for n, s, seq in card_markup.cards(b.response.text()) if n == number]
    assert served and served[0][0] == "running", "the late joiner's page has no running card"
    assert served[0][1] >= 5
    first = int(cards(b.page, "async").get_attribute("data-seq"))
    assert first >= 5
    expect_link(b.page, "live")

    seq_at_least(b.page, number, first + 3)
    expect(cards(b.page, "async", ".state-done[data-seq='40']")).to_have_count(1)
    assert a.errors == [] and b.errors == []


@each_htmx
def test_browser_chat_shows_markup_as_text_in_both_browsers(open_room):
    a, b = open_room(), open_room()
    said = [
        "<script>alert(1)</script>",
        '<img src=x onerror="window.pwned=1; alert(2)"><b>bold</b>',
    ]

    for text in said:
        say(a.page, text)
        expect(a.page.locator("#chat-form input[name=text]")).to_have_value("")

    for tab in (a, b):
        lines = tab.page.locator("#chat-log p.chat-line")
        expect(lines).to_have_count(2)
        assert tab.dialogs == []
        assert [url for url in tab.requests if urlsplit(url).path.endswith("/x")] == []
        assert tab.page.evaluate("() => typeof window.pwned") == "undefined"
        # Text only: no element but the lines and their times, so nothing could run or load.
        assert tab.page.locator("#chat-log *:not(p.chat-line):not(time)").count() == 0
        assert tab.page.evaluate("() => document.images.length") == 0
        shown = lines.evaluate_all(
            "lines => lines.map(p => Array.from(p.childNodes)"
            ".filter(n => n.nodeName !== 'TIME').map(n => n.textContent).join('').trim())"
        )
        assert shown == said
        assert tab.errors == []


@each_htmx
def test_browser_bad_input_shows_the_error_in_its_panel(open_room):
    a = open_room()
    form = a.page.locator("#start-sync")
    # Past the browser's own checks (a number input takes no letters), so that the server's
    # validation is what answers.
    form.locator("input:not([type=hidden])").evaluate_all(
        "inputs => inputs.forEach(input => { input.type = 'text';"
        " ['min', 'max', 'step', 'required'].forEach(name => input.removeAttribute(name)); })"
    )
    bad = [
        ((5, 0, 1), "Interval must be between 0.01 and 60 s, not 0."),
        ((100000, 0.1, 1), "Ticks must be between 1 and 10000, not 100000."),
        (("five", 0.1, 1), "Ticks must be a whole number, not 'five'."),
        ((5, "fast", 1), "Interval must be a number of seconds, not 'fast'."),
    ]
    for (count, interval, streams), message in bad:
        start(a.page, "sync", count, interval, streams)
        expect(a.page.locator("#errors-sync")).to_have_text(message)
    # Only that panel says so, nothing started, and the connection stayed open.
    for other in ("async", "room", "chat"):
        expect(a.page.locator(f"#errors-{other}")).to_be_hidden()
    expect(cards(a.page, "sync")).to_have_count(0)
    expect_link(a.page, "live")

    start(a.page, "sync", count=3, interval=0.1, streams=1)
    expect(a.page.locator("#errors-sync")).to_have_text("")
    expect(a.page.locator("#errors-sync")).to_be_hidden()
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


@each_htmx
def test_browser_stop_halts_the_counter_in_both_modes_and_reset_clears(open_room):
    a = open_room()
    stopped = {}
    # One mode after the other: under the default thread model a sync loop holds the
    # thread that a new async producer's handshake waits for.
    for mode in ("sync", "async"):
        start(a.page, mode, count=200, interval=0.05, streams=1)
        expect(cards(a.page, mode, ".state-running")).to_have_count(1)
        [number] = card_numbers(a.page, mode)
        seq_at_least(a.page, number, 3)
        # Pressed as a person presses a button: 100 ms between mouse down and mouse up.
        a.page.locator(f"#stream-{number} form.stop button").click(delay=100)
        expect(cards(a.page, mode, ".state-stopped")).to_have_count(1)
        expect(a.page.locator(f"#stream-{number}-body .status")).to_contain_text("stopped")
        expect(a.page.locator(f"#stream-{number} form.stop")).to_have_count(0)
        stopped[number] = seq(a.page, number)
        assert 3 <= stopped[number] < 200

    # The server recorded each run as stopped at the count its card shows.
    runs = {int(row["Stream"].removeprefix("#")): row for row in history(a.page, 2)}
    for number, at in stopped.items():
        assert runs[number]["Outcome"] == "stopped"
        assert runs[number]["Sent"] == f"{at} / 200"

    # A stream runs to its end meanwhile (longer than 10 of the stopped ones' intervals):
    # the stopped counters stay put.
    start(a.page, "async", count=6, interval=0.1, streams=1)
    expect(cards(a.page, "async", ".state-done")).to_have_count(1)
    history(a.page, 3)
    for number, at in stopped.items():
        assert seq(a.page, number) == at
        expect(a.page.locator(f"#stream-{number}-body .status")).to_contain_text("stopped")

    a.page.locator("#room-controls button").click()
    expect(cards(a.page, "sync")).to_have_count(0)
    expect(cards(a.page, "async")).to_have_count(0)
    assert a.errors == []


@each_htmx
@pytest.mark.parametrize("code", [1000, 4008])
def test_browser_link_indicator_shows_a_final_close_and_the_reconnect(open_room, code):
    """Daphne ends every socket with 1000 after its 24 h websocket_timeout, and the room
    closes a page that left too much unread with 4008; htmx 2 would retry neither, so the
    page does, htmx 4 retries both, and the indicator says so meanwhile."""
    a = open_room()
    expect_link(a.page, "live")
    record_links(a.page)
    close_viewer_socket(a.page, code)
    a.page.wait_for_function("() => window.links.includes('lost')", timeout=WAIT_MS)
    expect_link(a.page, "live")

    say(a.page, "back again")
    expect(a.page.locator("#chat-log p.chat-line")).to_contain_text("back again")
    assert a.errors == []


def test_browser_page_outlives_daphnes_websocket_timeout(open_page, chromium, room):
    """The real thing, shortened: Daphne ends the viewer's socket after --websocket_timeout
    (24 h by default, 3 s here) with 1000. The page reconnects and keeps its updates."""
    with served(args=["--websocket_timeout", "3"]) as short:
        a = open_page(f"{short.url}/{room}/")
        expect_link(a.page, "live")
        a.page.wait_for_function("() => document.body.dataset.link === 'lost'", timeout=WAIT_MS)
        expect_link(a.page, "live")
        start(a.page, "async", 3, 0.1, 1)
        expect(cards(a.page, "async", ".state-done[data-seq='3']")).to_have_count(1)
        assert a.errors == []


@each_htmx
def test_browser_page_acks_what_it_reads_and_outlasts_the_unread_limit(open_page, htmx_env, room):
    """Flow control from the page's side: it acks as it reads, so a room sending it far
    more than the unread limit (600 000 characters here, 4 MiB by default) keeps it."""
    limit = 600_000
    with served(env={**htmx_env, "DASHBOARD_MAX_UNREAD_CHARS": str(limit)}) as small:
        a = open_page(f"{small.url}/{room}/", wait_live=False)
        acks: list[int] = []
        a.page.on(
            "websocket",
            lambda ws: ws.on(
                "framesent",
                lambda frame: acks.append(json.loads(frame)["read"]) if '"ack"' in frame else None,
            ),
        )
        a.page.reload()
        expect_link(a.page, "live")
        start(a.page, "async", 400, 0.01, 2)
        expect(cards(a.page, "async", ".state-done[data-seq='400']")).to_have_count(2)
        expect_link(a.page, "live")
        log = small.log.read_text()
    assert "has not read" not in log
    assert acks == sorted(acks) and acks[-1] > limit, acks  # without them: closed at the limit
    assert a.errors == []


def test_browser_page_opened_while_redis_is_down_comes_back_by_itself(open_page, chromium, room):
    """A page loaded during an outage is a 503 with the banner; its socket is told the
    same and closed with 4503, which the page retries; once Redis answers it is live, its
    banner gone, without a reload."""
    with tempfile.TemporaryDirectory(prefix="outage-") as workdir:
        store = KillableRedis(workdir)
        store.start()
        try:
            with served(store.url) as server:
                store.kill()
                a = open_page(f"{server.url}/{room}/", wait_live=False)
                assert a.response is not None and a.response.status == 503
                banner = a.page.locator("#layer-status")
                expect(banner).to_contain_text("Channel layer unavailable")
                a.page.wait_for_function("() => window.closes.length >= 2", timeout=WAIT_MS)
                assert set(closes(a.page)) == {CLOSE_TRY_AGAIN}

                store.start()
                expect_link(a.page, "live")
                expect(banner).to_have_text("")
                start(a.page, "async", count=3, interval=0.05, streams=1)
                expect(cards(a.page, "async", ".state-done")).to_have_count(1)
        finally:
            if store.proc is not None and store.proc.poll() is None:
                store.kill()
    refused = [e for e in a.errors_besides_connection_failures() if "status of 503" not in e]
    assert refused == []  # the page's own 503, and nothing else


@pytest.fixture(params=["memory", "redis"])
def restartable(
    request: pytest.FixtureRequest, chromium: str, htmx_env: dict[str, str]
) -> Iterator[Server]:
    """A daphne of this test's own, to restart: on the defaults, or on Redis."""
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    with served(redis_url=redis_url, env=htmx_env) as restarted:
        yield restarted


@each_htmx
def test_browser_page_reconnects_after_a_server_restart(open_page, restartable, room):
    """The page says it is reconnecting, comes back by itself, and then shows what the
    restarted server knows: finished runs from SQLite; the cards from the cache, which
    survives in Redis and is gone with the process on the defaults."""
    on_redis = "REDIS_URL" in restartable.env
    url = f"{restartable.url}/{room}/"
    a = open_page(url)
    start(a.page, "sync", count=5, interval=0.1, streams=1)
    start(a.page, "async", count=5, interval=0.1, streams=1)
    for mode in ("sync", "async"):
        expect(cards(a.page, mode, ".state-done")).to_have_count(1)
    history(a.page, 2)
    # Mark what the page shows now, so that what it shows later is seen to be new.
    a.page.evaluate("() => document.querySelectorAll('.card').forEach(c => c.dataset.old = '')")
    before = len(closes(a.page))

    restartable.stop()
    expect_link(a.page, "lost")
    # It keeps trying while the server is down, and keeps saying so.
    a.page.wait_for_function("n => window.closes.length >= n", arg=before + 3, timeout=WAIT_MS)
    expect_link(a.page, "lost")

    restartable.start()
    expect_link(a.page, "live")
    for mode in ("sync", "async"):
        fresh = a.page.locator(f"#{mode}-streams .card:not([data-old]) .card-body")
        expect(fresh).to_have_count(1 if on_redis else 0)
        expect(cards(a.page, mode)).to_have_count(1 if on_redis else 0)
        if on_redis:
            expect_finished(fresh, 5)

    # A fresh load reads both stores: the history survives in SQLite either way.
    b = open_page(url)
    assert [(row["Mode"], row["Outcome"], row["Sent"]) for row in history(b.page, 2)] == [
        ("async", "finished", "5 / 5"),
        ("sync", "finished", "5 / 5"),
    ]
    for mode in ("sync", "async"):
        expect(cards(b.page, mode)).to_have_count(1 if on_redis else 0)
        if on_redis:
            expect_finished(cards(b.page, mode), 5)

    # And the room works again, for both.
    start(a.page, "async", count=3, interval=0.1, streams=1)
    for tab in (a, b):
        expect(cards(tab.page, "async", ".state-done[data-seq='3']")).to_have_count(1)
        assert history(tab.page, 3)[0]["Sent"] == "3 / 3"
    assert a.errors_besides_connection_failures() == []
    assert b.errors == []


@each_htmx
def test_browser_shows_a_refused_handshake_as_a_retry(open_room):
    """A handshake that arrives while an 8 s sync loop holds the shared thread outlasts
    Daphne's 5 s limit: it is refused, htmx retries, the card says so, and the stream
    starts soon after the loop ends (htmx 4 drops a frame sent before its socket opened:
    the producer's "run" goes when the retried connection opens)."""
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
    # The refused handshake (HTTP 403) is reported by Chromium and by htmx; nothing else
    # may fail.
    assert a.errors_besides_connection_failures() == []


@each_htmx
def test_browser_final_close_is_told_and_not_retried(open_page, htmx_env, room):
    """A 4xxx close that is not in the page's data-reconnect is final: the page shows why
    and stays closed. htmx 2 retries no 4xxx code by itself; htmx 4 retries every close
    unless the page stops it."""
    with served(env={**htmx_env, "DASHBOARD_MAX_VIEWERS_PER_PROCESS": "0"}) as full:
        a = open_page(f"{full.url}/{room}/", wait_live=False)
        expect(a.page.locator("#errors-room")).to_have_text(
            "This server process has its limit of 0 viewers; try again later."
        )
        a.page.wait_for_function("code => window.closes.includes(code)", arg=CLOSE_FULL)
        a.page.wait_for_timeout(2000)  # htmx 4 would have retried within 0.35 s, and again
        expect_link(a.page, "lost")
        # Daphne's 4429 reaches Chromium as 1006 now and then (a close without its code),
        # which both retry: however many tries, none after the 4429.
        *before, final = closes(a.page)
        assert final == CLOSE_FULL and set(before) <= {1006}, closes(a.page)
        assert len(a.sockets) == len(before) + 1, a.sockets
    assert a.errors == []


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's header; fails on anything else."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", path
    return struct.unpack(">II", data[16:24])


def test_browser_phone_shows_sync_and_async_side_by_side_without_sideways_scroll(
    open_page, server, room
):
    phone = open_page(f"{server}/{room}/", device=PHONE)
    expect_no_sideways_scroll(phone.page)  # the tables' headers alone are wider than a phone
    for mode in ("sync", "async"):  # one finished run each: the history table has rows
        start(phone.page, mode, count=3, interval=0.05, streams=1)
        expect(cards(phone.page, mode, ".state-done")).to_have_count(1)
    history(phone.page, 2)
    sync, async_ = (
        phone.page.locator(f"#{mode}-streams .card").first for mode in ("sync", "async")
    )
    sync_box, async_box = sync.bounding_box(), async_.bounding_box()
    assert abs(sync_box["y"] - async_box["y"]) < 2, (sync_box, async_box)  # one row
    assert async_box["x"] >= sync_box["x"] + sync_box["width"], (sync_box, async_box)
    expect_no_sideways_scroll(phone.page)
    # The finished runs are wider than the phone, and scroll in their own box.
    history_box = phone.page.locator("section.history")
    assert history_box.evaluate("box => box.scrollWidth > box.clientWidth")
    assert phone.errors_besides_connection_failures() == []


def test_browser_screenshot_mid_run(open_page, server, tmp_path):
    """Both columns mid-run, with some history and a chat line: docs/dashboard.png."""
    target = Path(os.environ.get(SCREENSHOT_ENV) or tmp_path / "dashboard.png")
    a = open_page(f"{server}/demo/")  # no other test uses this room
    start(a.page, "sync", count=5, interval=0.1, streams=1)
    start(a.page, "async", count=5, interval=0.1, streams=1)
    history(a.page, 2)
    say(a.page, "Watch the second sync stream: it waits for the shared thread.")
    a.page.locator("#room-controls button").click()
    expect(a.page.locator("#sync-streams .card")).to_have_count(0)

    # Async first: once running they tick on while a sync loop holds the shared thread,
    # whereas a new async producer's handshake would wait for it.
    start(a.page, "async", count=50, interval=0.2, streams=2)
    expect(cards(a.page, "async", ".state-running")).to_have_count(2)
    start(a.page, "sync", count=50, interval=0.2, streams=2)
    expect(cards(a.page, "sync", ".state-running")).to_have_count(1)
    [running] = cards(a.page, "sync", ".state-running").evaluate_all("b => b.map(b => b.id)")
    seq_at_least(a.page, int(running.split("-")[1]), 12)
    expect(a.page.locator("#sync-streams .status", has_text="shared sync thread")).to_have_count(1)
    a.page.screenshot(path=target, full_page=True)

    # Mid-run when taken: all still live afterwards; then stopped, so the server ends cleanly.
    expect(a.page.locator(".card-body.state-running")).to_have_count(3)
    for number in card_numbers(a.page, "sync") | card_numbers(a.page, "async"):
        a.page.locator(f"#stream-{number} form.stop button").click()
    expect(a.page.locator(".card-body.state-stopped")).to_have_count(4, timeout=30_000)
    width, height = png_size(target)
    assert width == VIEWPORT["width"] and height >= VIEWPORT["height"], (width, height)
    assert target.stat().st_size > 50_000  # a rendered page, not a blank one
    assert a.errors_besides_connection_failures() == []


def test_browser_sync_cpu_work_draws_a_staircase_then_parallel_bars_and_says_why(open_room):
    """Sync streams that compute: under the default the timeline is a staircase and the
    reading names the shared thread; with a thread per connection, bars side by side."""
    a = open_room()
    start(a.page, "sync", count=4, interval=0.25, streams=3, work="cpu", cost=50)
    expect(cards(a.page, "sync", ".state-done")).to_have_count(3)
    history(a.page, 3)
    expect(a.page.locator("#reading")).to_contain_text("all sync consumers of a process share")
    a.page.wait_for_function("() => document.querySelectorAll('#timeline g.bar-done').length === 3")
    bars = sorted(timeline_runs(a.page, "sync").values())
    assert len(bars) == 3
    assert all(later[0] >= earlier[1] - 1 for earlier, later in itertools.pairwise(bars)), bars
    expect(cards(a.page, "sync").first.locator(".work")).to_contain_text("cpu 50 ms")

    a.page.locator("#room-controls button").click()  # reset: a fresh timeline
    expect(a.page.locator("#timeline g.bar")).to_have_count(0)
    a.page.locator("#thread-model input[value=per_connection]").check()
    expect(a.page.locator("#thread-model input[value=per_connection]")).to_be_checked()
    a.page.wait_for_timeout(300)  # the switch reaches the server before the next start
    start(a.page, "sync", count=4, interval=0.25, streams=3, work="cpu", cost=50)
    a.page.wait_for_function("() => document.querySelectorAll('#timeline g.bar-done').length === 3")
    bars = sorted(timeline_runs(a.page, "sync").values())
    assert min(end for _, end in bars) > max(begin for begin, _ in bars), bars  # all at once
    expect(a.page.locator("#reading")).to_contain_text("with a thread per connection")
    assert a.errors == []


def test_browser_async_blocking_work_is_named_for_the_lag_it_caused(open_room):
    a = open_room()
    start(a.page, "async", count=6, interval=0.25, streams=1, work="blocking", cost=150)
    expect(cards(a.page, "async", ".state-done")).to_have_count(1)
    history(a.page, 1)
    expect(a.page.locator("#reading")).to_contain_text("(blocking in async): every page")
    expect(a.page.locator("#reading a").first).to_have_attribute("href", "/explain/#event-loop")
    assert len(timeline_runs(a.page, "async")) == 1
    explain = a.page.context.new_page()
    explain.goto(urljoin(a.page.url, "/explain/"))
    expect(explain.locator("#event-loop")).to_be_visible()
    assert a.errors == []
