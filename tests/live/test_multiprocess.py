"""Two Daphne processes on one Redis and one database share rooms, as behind a balancer.

The processes are subprocesses on free ports, with the default pub/sub layer on a real
Redis and the run history in PostgreSQL (a fresh database; see ``shared_database_url``).
A viewer on B sees a stream started on A live, a late joiner on B gets A's snapshot, chat
crosses both ways, the gauges name their process, and ``manage.py stream`` from a third
process shows on both.
"""

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from streams.client import Viewer, run_producer
from tests.asgi.wsclient import eventually
from tests.cards import card_body, cards
from tests.servers import ROOT, Server, fetch, served

pytestmark = pytest.mark.live

PROCESS = re.compile(r"process <b>([^<]+)</b>")


@pytest.fixture(scope="module")
def servers(redis_url: str, shared_database_url: str) -> Iterator[tuple[Server, Server]]:
    env = {"DATABASE_URL": shared_database_url}
    with served(redis_url, env) as a, served(redis_url, env) as b:
        yield a, b


async def _seqs_seen(viewer: Viewer, number: int, until: int, timeout: float = 15) -> list[int]:
    """The tick numbers of stream ``number`` this viewer got, up to ``until``."""
    seen: list[int] = []
    while not seen or seen[-1] < until:
        _, text = await viewer.next_frame(timeout)
        seen += [seq for n, _state, seq in cards(text) if n == number]
    return seen


async def test_a_stream_started_on_a_ticks_live_on_b(servers, room):
    a, b = servers
    async with Viewer(a.url, room) as on_a, Viewer(b.url, room) as on_b:
        [number] = await on_a.start("async", count=6, interval=0.1, streams=1)
        producing = asyncio.create_task(run_producer(a.url, room, "async", number))
        seen = await _seqs_seen(on_b, number, until=6)
        assert (await producing).outcome == "done"
        assert sorted(set(seen) - {0}) == [1, 2, 3, 4, 5, 6]  # every tick crossed
        _, history = await asyncio.to_thread(fetch, f"{b.url}/{room}/")
    # The run's row, written by A's producer, is in the database B reads.
    assert f"#{number}" in history.split('id="history-rows"')[1]


async def test_a_late_joiner_on_b_gets_the_snapshot_a_wrote(servers, room):
    a, b = servers
    async with Viewer(a.url, room) as on_a:
        [number] = await on_a.start("async", count=40, interval=0.05, streams=1)
        producing = asyncio.create_task(run_producer(a.url, room, "async", number))
        await _seqs_seen(on_a, number, until=5)
        async with Viewer(b.url, room) as late:
            _, snapshot = await late.next_frame(10)
            [(state, seq)] = [(s, q) for n, s, q in cards(snapshot) if n == number]
            assert state == "running" and seq >= 5
        await on_a.send({"action": "stop", "stream": number})
        assert (await producing).outcome == "stopped"


async def test_chat_crosses_both_ways_and_presence_counts_both(servers, room):
    a, b = servers
    async with Viewer(a.url, room) as on_a, Viewer(b.url, room) as on_b:
        # The count first: wait_for passes over the frames before the one it waits for.
        for viewer in (on_a, on_b):
            await viewer.wait_for("<b>2</b> viewers in this room")
        await on_a.send({"action": "chat", "text": "hello from A"})
        await on_b.wait_for("hello from A")
        await on_b.send({"action": "chat", "text": "hello from B"})
        await on_a.wait_for("hello from B")


async def test_the_gauges_say_which_process_they_describe(servers, room):
    a, b = servers
    named = []
    for server in (a, b):
        async with Viewer(server.url, room) as viewer:
            frame = await viewer.wait_for('<p id="gauges"')
            named.append(PROCESS.search(frame)[1])
    assert named[0] != named[1]
    assert all(re.fullmatch(r"[\w.-]+:\d+", name) for name in named)


async def test_manage_py_stream_from_a_third_process_shows_on_both(
    servers, room, redis_url, shared_database_url
):
    a, b = servers
    async with Viewer(a.url, room) as on_a, Viewer(b.url, room) as on_b:
        command = [sys.executable, "manage.py", "stream", "--room", room, "--mode", "sync",
                   "--count", "4", "--interval", "0.1"]  # fmt: skip
        env = {**os.environ, "REDIS_URL": redis_url, "DATABASE_URL": shared_database_url}
        done = await asyncio.to_thread(
            subprocess.run, command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert '"type": "stream.finished"' in done.stdout
        for viewer in (on_a, on_b):
            card = await viewer.wait_for("from manage.py stream on")
            [(number, _state, _seq)] = cards(card)
            await viewer.wait_for(card_body(number, "done"))


async def test_a_thousand_viewers_come_and_go_and_leave_no_ghost_in_redis(servers, room):
    """1,000 connects and disconnects across both processes, 50 at a time, some closing
    abruptly: afterwards no process is still subscribed to the room's group."""
    a, b = servers
    group_channel = f"asgi__group__room.{room}"
    async with Viewer(a.url, room) as first:  # the channel name is the layer's own:
        await first.next_frame(10)  # while a viewer is in, a process is subscribed to it
        assert await asyncio.to_thread(_numsub, a.env["REDIS_URL"], group_channel) >= 1

    async def come_and_go(index: int) -> None:
        server = (a, b)[index % 2]
        async with Viewer(server.url, room) as viewer:
            await viewer.next_frame(10)  # the snapshot: it has joined
            if index % 3 == 0:
                viewer.abort()  # no closing handshake, as a vanished client

    for start in range(0, 1000, 50):
        await asyncio.gather(*(come_and_go(i) for i in range(start, start + 50)))
    # Each process leaves the group just after its last viewer's disconnect.
    await eventually(
        lambda: asyncio.to_thread(_numsub, a.env["REDIS_URL"], group_channel),
        lambda subscribed: subscribed == 0,
        timeout=10,
    )
    async with Viewer(a.url, room) as viewer:  # and the room still works
        await viewer.wait_for("<b>1</b> viewer in this room")
        await viewer.send({"action": "chat", "text": "after the churn"})
        await viewer.wait_for("after the churn")


def _numsub(url: str, channel: str) -> int:
    import redis

    client = redis.Redis.from_url(url)
    try:
        [(_, count)] = client.pubsub_numsub(channel)
        return int(count)
    finally:
        client.close()


async def test_the_viewers_of_a_process_that_died_stop_counting(redis_url, room):
    """A process killed with a viewer connected never says it left: its count lapses with
    its lease (1.5 s here, 30 s by default), and the other process's page shows the drop."""
    lease = {"DASHBOARD_PRESENCE_LEASE": "1.5"}
    with served(redis_url, lease) as a, served(redis_url, lease) as doomed:
        async with Viewer(a.url, room) as on_a, Viewer(doomed.url, room):
            await on_a.wait_for("<b>2</b> viewers in this room")
            assert doomed.proc is not None
            doomed.proc.kill()  # SIGKILL: no cleanup, no goodbye
            await asyncio.to_thread(doomed.proc.wait, 10)
            await on_a.wait_for("<b>1</b> viewer in this room", timeout=10)
