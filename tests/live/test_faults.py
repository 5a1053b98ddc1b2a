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

import pytest

from streams.client import Viewer, run_producer
from tests.cards import card_body, cards
from tests.servers import Daphne, KillableRedis, daphne_server, fetch

pytestmark = pytest.mark.live

DOWN = "Channel layer unavailable"


@pytest.fixture
def redis_and_server() -> Iterator[tuple[KillableRedis, Daphne]]:
    # No traceback at all in the server's log (daphne_server checks): ours are one-line
    # warnings, and the layer's receive task logs its failures in one line too
    # (dashboard_project/logfilters.py).
    with tempfile.TemporaryDirectory() as redis_dir:
        redis = KillableRedis(redis_dir)
        redis.start()
        try:
            with daphne_server(redis.url) as server:
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
async def test_a_stream_cut_by_a_server_stop_is_recorded_as_such(room, mode):
    """SIGTERM with a stream running: Daphne cancels every application and waits for them.
    An async loop is cancelled; a sync loop, in its thread, sees the stop at its next tick.
    Either way the stream writes its row before the process exits, saying why it ended,
    and the process exits at once rather than when the stream would have ended."""
    with daphne_server() as server:
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
