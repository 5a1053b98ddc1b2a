"""Nothing grows per connection: thousands of viewers and hundreds of streams come and go
through a real Daphne on a real Redis, and its descriptors, its Redis clients and its memory
come back to where they started; and ``/metrics`` has the very same series as before.

Daphne runs with its descriptor limit lowered to 256, so a leak of one descriptor per
connection fails it outright (``Too many open files``) long before the end. Its Redis is a
throwaway one, so every client Redis counts is this Server's.
"""

import asyncio
import tempfile
import time
from pathlib import Path

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from dashboard_project.garbage import QUIET
from streams.client import Viewer, run_producer
from tests.servers import KillableRedis, Server, open_fds, rss

pytestmark = pytest.mark.live

VIEWERS = 2_000
# What lives as long as the process is built by the first thousand viewers and fifty streams:
# measured in rounds of 1,000 viewers and 50 streams, RSS rose 91 -> 100.6 -> 103.4 MiB, then
# stayed at 103.4-103.5 up to 5,000 (no Python object grew: tracemalloc, gc counts).
WARM_UP, WARM_UP_STREAMS = 1_000, 50
AT_ONCE = 50  # viewers connected at a time: well under the descriptor limit
STREAMS = 100  # sync and async, half each, each on a producer connection of its own
FD_LIMIT = 256
SLACK = 20  # descriptors and Redis clients it may hold more at the end (pools, threads)
SLACK_RSS = 20 * 1024 * 1024


async def viewers_and_streams(url: str, room: str, viewers: int, streams: int) -> None:
    for batch in range(0, viewers, AT_ONCE):
        numbers = range(batch, batch + AT_ONCE)
        await asyncio.gather(*(come_and_go(url, room, n) for n in numbers))
    for number in range(streams):
        mode = "sync" if number % 2 else "async"
        run = await run_producer(url, room, mode, count=2, interval=0.01)
        assert run.outcome == "done", run


def gauges(server: Server, store: redis.Redis) -> tuple[int, int, int]:
    """(Redis clients besides this test's own, Server's open descriptors, Server's RSS)."""
    assert server.proc is not None
    clients = int(store.info("clients")["connected_clients"]) - 1
    return clients, open_fds(server.proc.pid), rss(server.proc.pid)


async def come_and_go(url: str, room: str, number: int) -> None:
    """A viewer that gets its snapshot and leaves: cleanly, or (every other one) by
    dropping its TCP connection without a closing handshake."""
    async with Viewer(url, room) as viewer:
        _, snapshot = await viewer.next_frame(timeout=30)
        assert 'id="sync-streams"' in snapshot and 'id="async-streams"' in snapshot
        if number % 2:
            viewer.abort()


def series(server: Server) -> set[tuple[str, frozenset[tuple[str, str]]]]:
    """Every series ``/metrics`` shows: names and labels, not values."""
    text = httpx.get(f"{server.url}/metrics", timeout=10).raise_for_status().text
    return {
        (sample.name, frozenset(sample.labels.items()))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def settled(server: Server, store: redis.Redis, start: tuple[int, int, int]) -> None:
    """Until the descriptors and clients are back (closed sockets take a moment to be
    reaped), or 20 s."""
    deadline = time.monotonic() + 20
    now = gauges(server, store)
    while time.monotonic() < deadline and (now[0] > start[0] + SLACK or now[1] > start[1] + SLACK):
        await asyncio.sleep(0.5)
        now = gauges(server, store)


def test_viewers_and_streams_that_come_and_go_leave_nothing_behind(room):
    with tempfile.TemporaryDirectory(prefix="leaks-") as workdir:
        store_server = KillableRedis(workdir)
        store_server.start()
        server = Server(Path(workdir), store_server.url, fd_limit=FD_LIMIT)
        server.start()
        store = redis.Redis.from_url(store_server.url)
        try:
            asyncio.run(run_everything(server, store, room))
        finally:
            server.stop()
            store.close()
            store_server.kill()
        server.assert_no_traceback()


async def run_everything(server: Server, store: redis.Redis, room: str) -> None:
    # Warm up: the first viewers and streams build what lives as long as the process (the
    # layer's connections, the cache's pool, executor threads and their database
    # connections, the allocator's arenas at AT_ONCE connections).
    await viewers_and_streams(server.url, room, WARM_UP, WARM_UP_STREAMS)
    await asyncio.sleep(QUIET + 1)  # a quiet moment: the garbage collector runs (garbage.py)
    start = gauges(server, store)
    start_series = series(server)

    await viewers_and_streams(server.url, room, VIEWERS, STREAMS)

    await settled(server, store, start)
    await asyncio.sleep(QUIET + 1)  # a quiet moment: their garbage is collected (garbage.py)
    assert series(server) == start_series  # no label took a room, a channel or a number
    clients, fds, memory = gauges(server, store)
    print(f"\nRedis clients {start[0]} -> {clients}, descriptors {start[1]} -> {fds}, "
          f"RSS {start[2] / 2**20:.1f} -> {memory / 2**20:.1f} MiB")  # fmt: skip
    assert clients <= start[0] + SLACK, (start, clients)
    assert fds <= start[1] + SLACK, (start, fds)
    assert memory <= start[2] + SLACK_RSS, (start, memory)
