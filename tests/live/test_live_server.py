"""Daphne in a subprocess, driven by WebSocket clients: the shared-thread effect, for real.

Orderings and generous bounds, never tight timings: the machine is shared.
"""

import asyncio
import html
import re
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from streams.client import Viewer, overlap, run_producer, run_streams, ws_base
from streams.gauges import PUSH
from streams.schedule import percentile
from tests.cards import card_body, cards
from tests.servers import ROOT, daphne, fetch

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A daphne serving the project with its defaults: in-memory layer, SQLite."""
    with daphne() as url:
        yield url


async def test_default_model_runs_sync_streams_one_after_another(server, room):
    runs = await run_streams(server, room, "sync", count=5, interval=0.2, streams=3)

    runs.sort(key=lambda r: r.started_at)
    assert len(runs) == 3 and all(r.outcome == "done" and len(r.ticks) == 5 for r in runs)
    for before, after in zip(runs, runs[1:], strict=False):
        assert after.started_at >= before.ended_at - 0.05  # no overlap
    assert runs[-1].ended_at - runs[0].started_at >= 2.8


async def test_async_streams_run_together(server, room):
    runs = await run_streams(server, room, "async", count=5, interval=0.2, streams=3)

    assert len(runs) == 3 and all(r.outcome == "done" and len(r.ticks) == 5 for r in runs)
    assert overlap(runs) >= 0.5


async def test_per_connection_model_runs_sync_streams_together(server, room):
    async with Viewer(server, room) as viewer:
        await viewer.set_thread_model("per_connection")
    runs = await run_streams(server, room, "sync", count=5, interval=0.2, streams=3)

    assert len(runs) == 3 and all(r.outcome == "done" and len(r.ticks) == 5 for r in runs)
    assert overlap(runs) >= 0.5


async def test_viewer_stays_live_while_a_sync_stream_loops(server, room):
    async with Viewer(server, room) as starter:
        [async_number] = await starter.start("async", count=40, interval=0.1, streams=1)
        async_run = asyncio.create_task(run_producer(server, room, "async", async_number))
        await starter.wait_for(card_body(async_number))
        [sync_number] = await starter.start("sync", count=12, interval=0.25, streams=1)
        sync_run = asyncio.create_task(run_producer(server, room, "sync", sync_number))
        await starter.wait_for(card_body(sync_number))

        # The sync loop now holds the shared thread for ~3 s.
        asked = time.monotonic()
        async with Viewer(server, room) as late:
            connected = time.monotonic() - asked
            arrivals = await _collect_ticks(late, async_number, seconds=1.5)
        sync_result, async_result = await asyncio.gather(sync_run, async_run)

    assert connected < 1.0
    assert sync_result.started_at < min(at for _, at in arrivals)
    assert max(at for _, at in arrivals) < sync_result.ended_at  # seen during the sync loop
    assert len(arrivals) >= 10
    # Lateness against the schedule on the late viewer's own clock. A viewer queued behind
    # the sync loop would see ticks 0.25-3 s late, in bursts; on time here means well under
    # that, on a shared machine, with the fan-out's flush window (20 ms) in it; one blip.
    base = min(at - seq * 0.1 for seq, at in arrivals)
    viewer_lateness = sorted(at - seq * 0.1 - base for seq, at in arrivals)
    assert viewer_lateness[-2] < 0.2 and viewer_lateness[-1] < 0.5
    sent_lateness = sorted(late for _, late, _ in async_result.ticks)
    assert sent_lateness[int(0.95 * len(sent_lateness))] < 0.1


RUN = "running"


async def _collect_ticks(viewer: Viewer, number: int, seconds: float) -> list[tuple[int, float]]:
    arrivals = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            at, text = await viewer.next_frame(left)
        except TimeoutError:
            break
        arrivals += [
            (seq, at) for n, state, seq in cards(text) if (n, state) == (number, "running")
        ]
    # The snapshot repeats a tick already sent; keep each tick's first arrival.
    first: dict[int, float] = {}
    for seq, at in arrivals:
        first.setdefault(seq, at)
    return sorted(first.items())


WAIT_GAUGE = re.compile(r"shared sync thread wait <b>([\d.]+) ms</b>")


async def _thread_waits_during(server: str, room: str, model: str) -> list[float]:
    """The shared-thread wait gauges a viewer got (one a second) while one sync stream of
    4 x 0.5 s ran under ``model``, in seconds."""
    waits: list[float] = []
    async with Viewer(server, room) as viewer:
        await viewer.set_thread_model(model)
        # A push reports the longest wait of its second: let the last test's loop pass out.
        async with asyncio.timeout(10):
            while True:
                shown = WAIT_GAUGE.findall(await viewer.wait_for("thread wait"))
                if shown and max(map(float, shown)) < 100:
                    break
        [number] = await viewer.start("sync", count=4, interval=0.5, streams=1)
        run = asyncio.create_task(run_producer(server, room, "sync", number))
        ended = None  # and the push after the loop's end, which tells its whole wait
        while ended is None or time.monotonic() - ended < PUSH + 0.5:
            if ended is None and run.done():
                ended = time.monotonic()
            try:
                _, text = await viewer.next_frame(0.5)
            except TimeoutError:
                continue
            waits += [float(ms) / 1000 for ms in WAIT_GAUGE.findall(text)]
        assert (await run).outcome == "done"
    return waits


async def test_thread_wait_gauge_rises_under_the_default_model(server, room):
    waits = await _thread_waits_during(server, room, "shared")
    assert len(waits) >= 1 and max(waits) > 1.0


async def test_thread_wait_gauge_stays_near_zero_with_a_thread_per_connection(server, room):
    waits = await _thread_waits_during(server, room, "per_connection")
    assert len(waits) >= 3 and max(waits) < 0.1  # 4 x 0.5 s and a push after: 3 at least


BODY = re.compile(
    r'id="stream-(\d+)-body" class="card-body state-(\w+)" data-seq="(\d+)" '
    r'data-scheduled="([\d.]+)" data-sent="([\d.]+)" data-late="([\d.]+)"'
)
CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_dashboard_figures_agree_with_an_outside_client(server, room, mode):
    """What the page shows of a run against what a plain WebSocket client measured of it:
    each tick's lateness within 50 ms, and exactly the same tick counts."""
    wall_minus_monotonic = time.time() - time.monotonic()
    count = 10
    async with Viewer(server, room) as outside:
        [number] = await outside.start(mode, count=count, interval=0.1, streams=1)
        await run_producer(server, room, mode, number)
        frames = []
        while not any('<tr id="run-' in text for _, text in frames[-1:]):
            frames.append(await outside.next_frame(10))

    ticks: list[int] = []
    received: dict[int, tuple[float, float]] = {}  # seq: (dashboard's, outside lateness)
    for at, text in frames:
        for n, state, seq, scheduled, _sent, late in BODY.findall(text):
            if int(n) == number and state == "running" and int(seq) > 0:  # 0: the start
                ticks.append(int(seq))
                outside_late = at + wall_minus_monotonic - float(scheduled)
                received[int(seq)] = (float(late), max(0.0, outside_late))
    assert ticks == list(range(1, count + 1))  # every tick, in order, none twice
    for seq, (shown, measured) in received.items():
        # The page's figure is the send; an outside client's, the arrival: apart by the
        # fan-out's flush window (20 ms) and the machine's noise, no more.
        assert abs(shown - measured) < 0.1, (seq, shown, measured)

    row = [html.unescape(cell) for cell in CELL.findall(frames[-1][1])]
    sent, delivered, lost = row[5], row[6], row[7]
    assert (sent, delivered, lost) == (f"{count} / {count}", "10 <small>to 1</small>", "0")
    shown_p95 = float(row[12].removesuffix(" ms")) / 1000
    measured_p95 = percentile(sorted(m for _, m in received.values()), 0.95)
    assert abs(shown_p95 - measured_p95) < 0.05


@pytest.mark.parametrize(
    "encoded",
    ["lobby%0A", "a%2Fb", "%F0%9F%8E%88", "two%20words", "%3Cb%3E", "a" * 1000, "%2E%2E%2E", "%FF"],
)
async def test_room_names_from_real_urls_get_a_404_or_a_clean_close(server, encoded):
    """Through Daphne, which percent-decodes the path: never a 500, never a traceback."""
    status, _ = await asyncio.to_thread(fetch, f"{server}/{encoded}/")
    assert status == 404
    url = f"{ws_base(server)}/ws/rooms/{encoded}/"
    async with connect(url, additional_headers={"Origin": server}, open_timeout=10) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404


async def test_manage_py_stream_as_a_websocket_client_works_on_the_default_layer(server, room):
    async with Viewer(server, room) as viewer:
        command = [sys.executable, "manage.py", "stream", "--url", server, "--room", room,
                   "--mode", "async", "--count", "3", "--interval", "0.1"]  # fmt: skip
        done = await asyncio.to_thread(
            subprocess.run, command, cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        ticks = [line for line in done.stdout.splitlines() if '"stream.tick"' in line]
        assert len(ticks) == 3
        card = await viewer.wait_for("from a WebSocket client at 127.0.0.1")
        [(number, _state, _seq)] = cards(card)
        await viewer.wait_for(card_body(number, "done"))
