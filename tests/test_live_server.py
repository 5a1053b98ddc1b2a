"""Daphne in a subprocess, driven by WebSocket clients: the shared-thread effect, for real.

Orderings and generous bounds, never tight timings: the machine is shared.
"""

import asyncio
import re
import time
from collections.abc import Iterator

import pytest

from streams.client import Viewer, overlap, run_producer, run_streams, running
from tests.server import daphne

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A daphne serving the project with its defaults: in-memory layer, SQLite."""
    with daphne() as url:
        yield url


async def test_default_model_runs_sync_streams_one_after_another(server, room):
    runs = await run_streams(server, room, "sync", count=5, interval=0.2, streams=3)

    runs.sort(key=lambda r: r.started_at)
    assert all(r.outcome == "done" and len(r.ticks) == 5 for r in runs)
    for before, after in zip(runs, runs[1:], strict=False):
        assert after.started_at >= before.ended_at - 0.05  # no overlap
    assert runs[-1].ended_at - runs[0].started_at >= 2.8


async def test_async_streams_run_together(server, room):
    runs = await run_streams(server, room, "async", count=5, interval=0.2, streams=3)

    assert all(r.outcome == "done" and len(r.ticks) == 5 for r in runs)
    assert overlap(runs) >= 0.5


async def test_per_connection_model_runs_sync_streams_together(server, room):
    async with Viewer(server, room) as viewer:
        await viewer.set_thread_model("per_connection")
    runs = await run_streams(server, room, "sync", count=5, interval=0.2, streams=3)

    assert all(r.outcome == "done" and len(r.ticks) == 5 for r in runs)
    assert overlap(runs) >= 0.5


async def test_viewer_stays_live_while_a_sync_stream_loops(server, room):
    async with Viewer(server, room) as starter:
        [async_number] = await starter.start("async", count=40, interval=0.1, streams=1)
        async_run = asyncio.create_task(run_producer(server, room, "async", async_number))
        await starter.wait_for(running(async_number))
        [sync_number] = await starter.start("sync", count=12, interval=0.25, streams=1)
        sync_run = asyncio.create_task(run_producer(server, room, "sync", sync_number))
        await starter.wait_for(running(sync_number))

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
    # the sync loop would see ticks 0.25-3 s late, in bursts; allow one blip of machine noise.
    base = min(at - seq * 0.1 for seq, at in arrivals)
    viewer_lateness = sorted(at - seq * 0.1 - base for seq, at in arrivals)
    assert viewer_lateness[-2] < 0.1 and viewer_lateness[-1] < 0.5
    sent_lateness = sorted(late for _, late, _ in async_result.ticks)
    assert sent_lateness[int(0.95 * len(sent_lateness))] < 0.1


async def _collect_ticks(viewer: Viewer, number: int, seconds: float) -> list[tuple[int, float]]:
    card = re.compile(
        rf'id="stream-{number}-body" class="card-body state-running" data-seq="(\d+)"'
    )
    arrivals = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            at, text = await viewer.next_frame(left)
        except TimeoutError:
            break
        arrivals += [(int(seq), at) for seq in card.findall(text)]
    # The snapshot repeats a tick already sent; keep each tick's first arrival.
    first: dict[int, float] = {}
    for seq, at in arrivals:
        first.setdefault(seq, at)
    return sorted(first.items())
