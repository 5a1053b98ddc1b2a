"""Each tick's work, through the real ASGI application, on the in-memory layer and on Redis:
what each work records, and what is refused. Their effect on the others (who waits for
whom) needs a real server: tests/live/test_workloads.py."""

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from streams import notes
from streams.close_codes import CLOSE_DONE, CLOSE_REFUSED
from streams.models import StreamRun
from tests.asgi.wsclient import (
    communicator,
    ended,
    open_producer,
    open_viewer,
    receive_until,
    run_to_end,
    start,
)
from tests.cards import cards

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("layer", "connections_closed"),
]

# http needs a server to call: through a real one only (tests/live).
WORKS = [("sync", "sleep", 0), ("sync", "query", 0), ("sync", "cpu", 20),
         ("async", "sleep", 0), ("async", "query", 0), ("async", "cpu", 20),
         ("async", "blocking", 20), ("async", "offload", 20)]  # fmt: skip


@pytest.mark.parametrize(("mode", "work", "cost"), WORKS)
async def test_each_work_runs_shows_on_its_card_and_is_recorded(room, mode, work, cost):
    viewer, _ = await open_viewer(room)
    [number] = await start(viewer, mode, count=3, interval=0.1, work=work, cost=cost)
    producer = await open_producer(room, mode, number)
    replies = await run_to_end(producer)
    frames = await receive_until(viewer, lambda fs: "history-rows" in "".join(fs))

    assert replies[-1]["type"] == "stream.finished"
    assert (number, "done", 3) in cards(frames)
    card = next(f for f in reversed(frames) if f'id="stream-{number}"' in f)
    assert f'<dd class="work">{work}' in card
    assert ("<small>took" in card) is (work != "sleep")  # the pacing alone takes nothing
    run = await StreamRun.objects.aget(room=room, number=number)
    assert (run.work, run.cost, run.outcome) == (work, cost, "finished")
    assert run.work_p50 is not None and run.work_max is not None
    if cost:  # each tick's work took its cost, and a little more
        assert cost / 1000 <= run.work_p50 < cost / 1000 + 0.5
    await viewer.disconnect()


async def test_http_work_without_a_server_to_call_is_refused_clearly(room):
    """The communicator is no server: there is no address for the slow endpoint."""
    viewer, _ = await open_viewer(room)
    [number] = await start(viewer, "async", count=3, interval=0.5, work="http", cost=100)
    producer = await open_producer(room, "async", number)
    reply = await producer.receive_json_from(timeout=5)
    assert reply == {
        "type": "error",
        "message": "http work needs this server's address: run it through a server (--url), "
        "or set DASHBOARD_SLOW_URL.",
    }
    assert (await producer.receive_output(timeout=5))["code"] == CLOSE_REFUSED
    await viewer.disconnect()


async def test_the_room_runs_only_so_many_streams_that_freeze_the_loop(room, settings):
    settings.DASHBOARD_MAX_FREEZING_PER_ROOM = 1
    viewer, _ = await open_viewer(room)
    await start(viewer, "async", count=50, interval=0.2, work="cpu", cost=10)
    await viewer.send_json_to(
        {"action": "start", "mode": "async", "count": 5, "interval": 0.2, "streams": 1,
         "work": "blocking", "cost": 10}
    )  # fmt: skip
    frames = await receive_until(viewer, lambda fs: "errors-async" in "".join(fs))
    assert "at most 1 streams at once that freeze" in frames[-1]
    # Work that leaves the loop alone is not counted.
    assert await start(viewer, "async", count=5, interval=0.2, work="offload", cost=10)
    await viewer.disconnect()


async def test_async_query_work_leaves_no_database_connection_behind(room):
    viewer, _ = await open_viewer(room)
    [number] = await start(viewer, "async", count=2, interval=0.05, work="query")
    await run_to_end(await open_producer(room, "async", number))
    await receive_until(viewer, ended(number))
    # acount() ran on the shared sync thread: look there, where its connection would be.
    opened = await sync_to_async(
        lambda: [c.alias for c in connections.all(initialized_only=True) if c.connection]
    )()
    assert opened == []
    await viewer.disconnect()


@pytest.mark.parametrize(("path", "mode"), [("/ws/sc/", "sync"), ("/ws/ac/", "async")])
async def test_the_notes_endpoints_count_in_plain_text(room, path, mode, monkeypatch):
    """Any text in, the counts out from 0, one a tick (here 3 ticks of 20 ms, not the
    notes' 50 of a second); the run shows in the room's column as any other."""
    monkeypatch.setattr(notes, "ORDER", '{"action": "run", "count": 3, "interval": 0.02}')
    viewer, _ = await open_viewer(room)
    client = communicator(f"{path}{room}/")
    assert (await client.connect())[0]
    await client.send_to(text_data="hello")
    assert [await client.receive_from(timeout=5) for _ in range(3)] == ["0", "1", "2"]
    assert (await client.receive_output(timeout=5)) == {
        "type": "websocket.close",
        "code": CLOSE_DONE,
    }
    frames = await receive_until(viewer, lambda fs: any(c[1] == "done" for c in cards(fs)))
    assert "from a plain WebSocket client" in "".join(frames)
    run = await StreamRun.objects.aget(room=room)
    assert (run.mode, run.ticks_sent, run.outcome) == (mode, 3, "finished")
    await viewer.disconnect()
