"""Redis killed under a running server, and started again: the page says so and comes back.

A Daphne on a throwaway redis-server of its own (never the machine's shared one), which is
killed with SIGKILL while a viewer watches, then started again on the same port.
"""

import asyncio
import contextlib
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from streams.client import Viewer, origin, run_producer, ws_base
from tests.cards import card_body, cards
from tests.servers import KillableRedis, Server, fetch, served

pytestmark = pytest.mark.live

DOWN = "Channel layer unavailable"


@pytest.fixture
def redis_and_server() -> Iterator[tuple[KillableRedis, Server]]:
    # No traceback at all in the server's log (served checks): ours are one-line
    # warnings, and the layer's receive task logs its failures in one line too
    # (dashboard_project/logfilters.py).
    with tempfile.TemporaryDirectory() as redis_dir:
        redis = KillableRedis(redis_dir)
        redis.start()
        try:
            with served(redis.url) as server:
                yield redis, server
        finally:
            if redis.proc is not None and redis.proc.poll() is None:
                redis.kill()


async def test_redis_killed_and_back_the_page_says_so_and_resumes(redis_and_server, room):
    redis, server = redis_and_server
    async with Viewer(server.url, room) as viewer:
        [number] = await viewer.start("async", count=3, interval=0.1, streams=1)
        await run_producer(server.url, room, "async", number)
        await viewer.wait_for(card_body(number, "done"))

        redis.kill()
        await viewer.wait_for(DOWN, timeout=20)
        # The server is alive and says why a command cannot be done, on the same socket.
        assert server.running
        await viewer.send({"action": "chat", "text": "while it is down"})
        await viewer.wait_for("The channel layer is unavailable", timeout=10)
        # A page loaded now still loads, and says so: a 503, not a 500.
        status, page = await asyncio.to_thread(fetch, f"{server.url}/{room}/")
        assert status == 503 and DOWN in page, (status, page[-2000:])

        redis.start()
        back_at = time.monotonic()
        # Within 10 s: a fresh snapshot (Redis restarted empty: no cards) with the banner gone.
        snapshot = await viewer.wait_for('id="layer-status"', timeout=10)
        while DOWN in snapshot:
            snapshot = await viewer.wait_for('id="layer-status"', timeout=10)
        assert time.monotonic() - back_at < 10
        assert 'id="sync-streams"' in snapshot
        assert not cards(snapshot)
        # A page loaded during the outage drops its banner with its first snapshot.
        status, page = await asyncio.to_thread(fetch, f"{server.url}/{room}/")
        assert status == 200 and DOWN not in page
        async with Viewer(server.url, room) as late:
            first = await late.wait_for('id="sync-streams"')
            assert '<p id="layer-status"' in first and DOWN not in first

        # And it is live again: a new stream ticks on this very connection, no reload.
        [again] = await viewer.start("async", count=3, interval=0.1, streams=1)
        await run_producer(server.url, room, "async", again)
        await viewer.wait_for(card_body(again, "done"))


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_stream_running_when_redis_dies_still_gets_its_row(redis_and_server, room, mode):
    """Its end cannot be claimed in Redis (the claim keeps a sweep and the producer from
    both writing it), its room cannot be told: the row is written all the same, with no
    traceback in the log (served checks)."""
    redis, server = redis_and_server
    async with Viewer(server.url, room) as viewer:
        [number] = await viewer.start(mode, count=100, interval=0.05, streams=1)
        producer = asyncio.create_task(run_producer(server.url, room, mode, number))
        await viewer.wait_for(card_body(number) + ' data-seq="3"')
        redis.kill()
        async with asyncio.timeout(30):
            with contextlib.suppress(Exception):
                await producer  # it ends, one way or another, once it finds Redis gone
    deadline = time.monotonic() + 10
    while True:
        with sqlite3.connect(server.env["DJANGO_DB_PATH"]) as db:
            rows = db.execute(
                "select outcome, ticks_sent from streams_streamrun where room = ?", (room,)
            ).fetchall()
        if rows or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    [(outcome, sent)] = rows
    assert outcome in {"failed", "stopped"} and 3 <= sent < 100, rows


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_stream_cut_by_a_server_stop_is_recorded_as_such(room, mode):
    """SIGTERM with a stream running: Daphne cancels every application and waits for them.
    An async loop is cancelled; a sync loop, in its thread, sees the stop at its next tick.
    Either way the stream writes its row before the process exits, saying why it ended,
    and the process exits at once rather than when the stream would have ended."""
    with served() as server:
        async with Viewer(server.url, room) as viewer:
            [number] = await viewer.start(mode, count=200, interval=0.05, streams=1)
            producer = asyncio.create_task(run_producer(server.url, room, mode, number))
            await viewer.wait_for(card_body(number) + ' data-seq="3"')
            assert server.proc is not None
            asked = time.monotonic()
            server.proc.terminate()
            await asyncio.to_thread(server.proc.wait, 10)  # TimeoutExpired: it hung
            exited_after = time.monotonic() - asked
            with contextlib.suppress(Exception):
                await producer  # its connection went with the server
        with sqlite3.connect(server.env["DJANGO_DB_PATH"]) as db:
            rows = db.execute(
                "select outcome, note, ticks_sent from streams_streamrun where room = ?",
                (room,),
            ).fetchall()
    [(outcome, note, sent)] = rows
    assert (outcome, note) == ("stopped", "the server stopped"), rows
    assert 3 <= sent < 200
    assert exited_after < 5, exited_after  # 200 x 0.05 s: the stream had 9 s left


class Page:
    """A page's viewer connection as htmx keeps it: reconnected a moment after it drops,
    and what its cards last said, stream number -> state."""

    def __init__(self, url: str, room: str, changed: asyncio.Event) -> None:
        self.url, self.room, self.changed = url, room, changed
        self.states: dict[int, str] = {}
        self.connects = 0
        self.task = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        address = f"{ws_base(self.url)}/ws/rooms/{self.room}/"
        while True:
            with contextlib.suppress(OSError, InvalidHandshake, ConnectionClosed, TimeoutError):
                async with connect(address, additional_headers={"Origin": origin(self.url)}) as ws:
                    self.connects += 1
                    async for frame in ws:
                        for number, state, _seq in cards(str(frame)):
                            self.states[number] = state
                            self.changed.set()
            await asyncio.sleep(0.5)


async def test_streams_of_a_killed_server_end_in_a_quiet_room(redis_url, room):
    """SIGKILL with a sync and an async stream running and a second sync stream waiting
    for the shared thread, and the server back 0.9 s later: the pages come back by
    themselves, and with no other connection every one of them sees each stream end as
    failed once the dead process's lease lapses; each has one row in the history."""
    lease = 3.0
    with tempfile.TemporaryDirectory(prefix="killed-") as workdir:
        server = Server(Path(workdir), redis_url, {"DASHBOARD_PRESENCE_LEASE": str(lease)})
        server.start()
        changed = asyncio.Event()
        pages = [Page(server.url, room, changed) for _ in range(20)]
        try:
            async with Viewer(server.url, room) as starter:
                # One at a time: a default consumer's handshake waits for the shared thread.
                [racing] = await starter.start("async", count=200, interval=0.1, streams=1)
                producers = [asyncio.create_task(run_producer(server.url, room, "async", racing))]
                await starter.wait_for(card_body(racing) + ' data-seq="1"')
                [ticking] = await starter.start("sync", count=200, interval=0.1, streams=1)
                producers.append(
                    asyncio.create_task(run_producer(server.url, room, "sync", ticking))
                )
                await starter.wait_for(card_body(ticking) + ' data-seq="1"')
                [queued] = await starter.start("sync", count=5, interval=0.1, streams=1)
                producers.append(
                    asyncio.create_task(run_producer(server.url, room, "sync", queued))
                )
                # Its handshake reached the server, and waits for the shared thread.
                await starter.wait_for("waiting for the shared sync thread")
                await starter.wait_for(card_body(ticking) + ' data-seq="10"')
            server.kill()
            killed_at = time.monotonic()
            for producer in producers:  # their clients went with it: nobody runs them again
                producer.cancel()
            await asyncio.sleep(0.9)
            server.start()

            streams = {ticking, racing, queued}
            async with asyncio.timeout(60):
                while True:
                    changed.clear()
                    if all(page.states.get(n) == "failed" for n in streams for page in pages):
                        break
                    await changed.wait()
            ended_after = time.monotonic() - killed_at
            assert all(page.connects == 2 for page in pages)  # no connection but theirs
            await asyncio.sleep(2 * lease)  # later sweeps end nothing twice
        finally:
            for page in pages:
                page.task.cancel()
            server.stop()
        with sqlite3.connect(server.env["DJANGO_DB_PATH"]) as db:
            rows = db.execute(
                "select number, outcome from streams_streamrun where room = ? order by number",
                (room,),
            ).fetchall()
        server.assert_no_traceback()
    assert rows == [(n, "failed") for n in sorted(streams)], rows
    print(f"\nevery page saw the 3 streams end {ended_after:.1f} s after the kill")
    assert lease < ended_after < 60, ended_after
