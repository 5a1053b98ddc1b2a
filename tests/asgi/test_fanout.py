"""The per-process fan-out: one layer member per group, every local viewer served, no ghost."""

import asyncio

import pytest
from autobahn.exception import Disconnected
from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels_redis.core import RedisChannelLayer

from streams import fanout
from streams.rooms import room_group
from streams.viewer import RoomConsumer
from tests.asgi.wsclient import open_viewer, receive_until


async def members(group: str) -> set[str]:
    """The layer's members of ``group``: this process's (in memory, pub/sub), or all that
    Redis holds (core layer)."""
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer):
        return set(layer.groups.get(group, {}))
    if isinstance(layer, RedisChannelLayer):
        async with layer.connection(0) as connection:
            found = await connection.zrange(layer._group_key(group), 0, -1)
        return {name.decode() for name in found}
    inner = layer._get_layer()  # RedisPubSubChannelLayer keeps one per event loop
    return set(inner.groups.get(inner._get_group_channel_name(group), set()))


@pytest.mark.usefixtures("layer")
@pytest.mark.django_db(transaction=True)
async def test_viewers_of_a_room_share_one_member_and_leave_none(room):
    one, _ = await open_viewer(room)
    two, _ = await open_viewer(room)
    three, _ = await open_viewer(room)
    assert len(await members(room_group(room))) == 1

    await one.send_json_to({"action": "chat", "text": "to all three"})
    for viewer in (one, two, three):
        await receive_until(viewer, lambda fs: any("to all three" in f for f in fs))

    await one.disconnect()
    await two.disconnect()
    assert len(await members(room_group(room))) == 1
    await three.disconnect()
    assert await members(room_group(room)) == set()


@pytest.mark.usefixtures("layer")
async def test_join_returns_once_events_reach_the_inbox(room):
    inbox = fanout.Inbox()
    await fanout.join(room_group(room), inbox)
    try:
        event = {"type": "chat.message", "html": "x"}
        await get_channel_layer().group_send(room_group(room), event)
        assert await asyncio.wait_for(inbox.queue.get(), 5) == event
    finally:
        await fanout.leave(room_group(room), inbox)
    assert await members(room_group(room)) == set()


@pytest.mark.usefixtures("layer")
async def test_a_full_inbox_drops_its_own_events_only(room, settings):
    settings.DASHBOARD_FLUSH_MS = 0  # each event on its own
    slow, quick = fanout.Inbox(capacity=2), fanout.Inbox()
    await fanout.join(room_group(room), slow)
    await fanout.join(room_group(room), quick)
    try:
        for n in range(5):
            await get_channel_layer().group_send(room_group(room), {"type": "tick", "n": n})
        got = [await asyncio.wait_for(quick.queue.get(), 5) for _ in range(5)]
        assert [event["n"] for event in got] == [0, 1, 2, 3, 4]
        assert slow.queue.qsize() == 2 and slow.dropped == 3
    finally:
        await fanout.leave(room_group(room), slow)
        await fanout.leave(room_group(room), quick)


@pytest.mark.usefixtures("layer")
async def test_the_first_event_goes_at_once_and_the_window_gathers_the_rest(room, settings):
    settings.DASHBOARD_FLUSH_MS = 200
    inbox = fanout.Inbox()
    await fanout.join(room_group(room), inbox)
    send = get_channel_layer().group_send
    try:
        for n in range(4):
            await send(room_group(room), {"type": "tick", "n": n})
        first = await asyncio.wait_for(inbox.queue.get(), 5)
        assert first["n"] == 0  # alone: it found the window closed
        batch = await asyncio.wait_for(inbox.queue.get(), 5)  # the rest, at the window's end
        assert batch["type"] == "fanout.batch"
        assert [event["n"] for event in batch["events"]] == [1, 2, 3]
        await asyncio.sleep(0.3)  # the window closed again: the next one comes alone
        await send(room_group(room), {"type": "tick", "n": 4})
        assert (await asyncio.wait_for(inbox.queue.get(), 5))["n"] == 4
    finally:
        await fanout.leave(room_group(room), inbox)


class Stop(Exception):
    pass


async def test_inbox_runs_messages_and_events_in_arrival_order():
    inbox = fanout.Inbox()
    client: asyncio.Queue[dict] = asyncio.Queue()
    handled = []
    seen = {kind: asyncio.Event() for kind in ("websocket.connect", "stream.tick")}

    async def dispatch(message):
        handled.append(message["type"])
        if message["type"] in seen:
            seen[message["type"]].set()
        if message["type"] == "websocket.disconnect":
            raise Stop

    client.put_nowait({"type": "websocket.connect"})
    running = asyncio.create_task(inbox.run(client.get, dispatch))
    await asyncio.wait_for(seen["websocket.connect"].wait(), 5)
    inbox.deliver({"type": "stream.tick"})
    await asyncio.wait_for(seen["stream.tick"].wait(), 5)
    client.put_nowait({"type": "websocket.disconnect"})
    with pytest.raises(Stop):
        await asyncio.wait_for(running, 5)
    assert handled == ["websocket.connect", "stream.tick", "websocket.disconnect"]


async def test_inbox_stops_reading_the_client_after_its_disconnect():
    """uvicorn answers receive() after a disconnect at once, without suspending."""
    inbox = fanout.Inbox()
    calls = 0

    async def receive():
        nonlocal calls
        calls += 1
        assert calls < 100, "receive() called again and again after the disconnect"
        return {"type": "websocket.disconnect", "code": 1000}

    async def dispatch(message):
        await asyncio.sleep(0.01)  # the consumer takes its time with the disconnect
        raise Stop

    with pytest.raises(Stop):
        await asyncio.wait_for(inbox.run(receive, dispatch), 5)
    assert calls == 1


class BrokenLayer:
    """A layer that lets a hub join, then fails its receive."""

    discarded = False

    async def new_channel(self, prefix: str = "specific.") -> str:
        return f"{prefix}x"

    async def group_add(self, group: str, channel: str) -> None:
        pass

    async def group_discard(self, group: str, channel: str) -> None:
        self.discarded = True

    async def receive(self, channel: str) -> dict:
        raise ConnectionError("layer gone")


async def test_a_hub_that_loses_the_layer_fails_its_consumers_and_leaves():
    layer, inbox = BrokenLayer(), fanout.Inbox()
    hub = fanout.Hub(layer, "room.lobby")
    hub.members.add(inbox)
    await hub.started
    assert hub.receiving is not None
    await asyncio.wait([hub.receiving], timeout=5)

    assert hub.failed
    client: asyncio.Queue[dict] = asyncio.Queue()

    async def dispatch(message):
        raise AssertionError("nothing to dispatch")

    with pytest.raises(ConnectionError):
        await asyncio.wait_for(inbox.run(client.get, dispatch), 5)
    await hub.stop()
    assert layer.discarded


async def test_a_hub_channel_is_read_with_the_process_other_channels(redis_url):
    """The core Redis layer pops a process's channels one prefix at a time, blocking up to
    5 s on each: a hub channel of its own prefix waited behind the producers'."""
    from channels_redis.core import RedisChannelLayer

    layer = RedisChannelLayer(hosts=[{"address": redis_url, "socket_timeout": None}])
    hub = fanout.Hub(layer, "room.lobby")
    await hub.started
    assert layer.non_local_name(hub.channel) == layer.non_local_name(await layer.new_channel())
    await hub.stop()
    await layer.close_pools()


@pytest.mark.parametrize(
    "gone", [Disconnected("Attempt to send on a closed protocol"), ConnectionResetError()]
)
async def test_a_viewer_whose_page_closed_with_events_queued_does_not_crash(gone):
    """Daphne raises Disconnected for a send during the closing handshake, before the
    disconnect reaches the consumer; an ASGI server raises an OSError."""
    viewer = RoomConsumer()
    sent = []

    async def closing(message):
        sent.append(message)
        raise gone

    viewer.base_send = closing
    await viewer.send_html('<p id="gauges"></p>')  # the send raised, and was swallowed
    assert sent == [{"type": "websocket.send", "text": '<p id="gauges"></p>'}]


@pytest.mark.django_db(transaction=True)
async def test_a_quiet_room_outlives_the_layers_group_expiry(room, settings, monkeypatch):
    """Layers drop a group member after ``group_expiry``; the hub joins again on a timer, so
    a viewer of a room where nothing happened for longer still gets the next event."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"group_expiry": 1},
        }
    }
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    monkeypatch.setattr(fanout, "REJOIN", 0.3)
    quiet, _ = await open_viewer(room)
    talker, _ = await open_viewer(room)
    await asyncio.sleep(2.5)  # the point of the test: longer than group_expiry, room silent
    await talker.send_json_to({"action": "chat", "text": "still hearing?"})
    await receive_until(quiet, lambda fs: any("still hearing?" in f for f in fs))
    for viewer in (quiet, talker):
        await viewer.disconnect()
