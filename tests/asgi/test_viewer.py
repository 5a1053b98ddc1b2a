"""The viewer (``RoomConsumer``) through the real ASGI application, on the in-memory layer
and on Redis: the page's commands, what it is sent, and how it ends."""

import asyncio
import dataclasses
import html
import itertools
import time

import pytest
from channels.layers import get_channel_layer
from django.core.cache import cache

from streams import events, live
from streams.choices import ThreadModel
from streams.close_codes import CLOSE_BAD_ROOM, CLOSE_REFUSED, CLOSE_UNREAD
from streams.gauges import SAMPLER
from streams.models import StreamRun
from streams.process import off_thread
from streams.rooms import room_group
from streams.stream import State
from tests.asgi.wsclient import (
    cards,
    communicator,
    ended,
    eventually,
    open_producer,
    open_viewer,
    receive_only_gauges,
    receive_reply,
    receive_until,
    run_to_end,
    running_stream,
    start,
)
from tests.factories import ticked

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("layer", "connections_closed"),
]


async def test_delivery_is_summed_over_the_viewers_watching(room):
    viewers = [(await open_viewer(room))[0] for _ in range(3)]
    [number] = await start(viewers[0], "async", count=4, interval=0.02)
    await run_to_end(await open_producer(room, "async", number))
    for viewer in viewers:
        frames = await receive_until(viewer, lambda fs: "history-rows" in "".join(fs))
        assert "12 <small>to 3</small>" in frames[-1]
    run = await StreamRun.objects.aget(room=room, number=number)
    assert (run.ticks_sent, run.ticks_delivered, run.ticks_lost, run.viewers) == (4, 12, 0, 3)
    for viewer in viewers:
        await viewer.disconnect()


async def test_a_gap_in_the_ticks_shows_as_lost_on_that_page_and_in_the_run(room):
    """Ticks 2 and 3 never reach the room: the page says 2 lost, and so does the run."""
    viewer, _ = await open_viewer(room)
    [number] = await start(viewer, "async", count=4, interval=0.02)
    stream = await live.aload(room, number)
    assert stream is not None
    stream = stream.started(time.time(), ThreadModel.SHARED)
    layer = get_channel_layer()
    for seq in (1, 4):
        stream = ticked(stream, seq, 0.001)
        await layer.group_send(room_group(room), events.stream_event("stream.tick", stream, 0))
    frames = await receive_until(viewer, lambda fs: bool(fs) and "lost lossy" in fs[-1])
    assert 'class="lost lossy" hx-swap-oob="true">2</dd>' in frames[-1]
    ended_stream = stream.ended(State.DONE, time.time())
    await layer.group_send(
        room_group(room), events.stream_event("stream.finished", ended_stream, 0)
    )
    await receive_until(viewer, ended(number))
    # The viewer reports right after forwarding the end; its count of viewers goes last.
    delivery = off_thread(live.delivery)
    reported = await eventually(lambda: delivery(room, number), lambda r: r[2] == 1)
    assert reported == (2, 2, 1)
    await viewer.disconnect()


async def test_a_tick_older_than_the_snapshot_is_not_shown(room):
    """A tick queued before a late joiner's snapshot would set its counter back."""
    first, _ = await open_viewer(room)
    [number] = await start(first, "async", count=10, interval=1)
    stream = (await live.aload(room, number)).started(time.time(), ThreadModel.SHARED)
    for seq in (1, 2, 3):
        stream = ticked(stream, seq, 0.0)
    await live.asave(stream)
    late, snapshot = await open_viewer(room)
    assert cards([snapshot]) == [(number, "running", 3)]

    layer = get_channel_layer()
    for seq in (3, 4):  # 3 again, as if queued before the snapshot; then the next
        event = events.stream_event("stream.tick", ticked(stream, seq, 0.0), 0)
        await layer.group_send(room_group(room), event)
    frames = await receive_until(late, lambda fs: bool(cards(fs)))
    assert cards(frames) == [(number, "running", 4)]
    for comm in (first, late):
        await comm.disconnect()


async def test_presence_counts_the_rooms_viewers_live(room):
    one, _ = await open_viewer(room)
    two, snapshot = await open_viewer(room)
    assert "<b>2</b> viewers in this room" in snapshot
    await receive_until(one, lambda fs: "<b>2</b> viewers" in "".join(fs))
    await two.disconnect()
    await receive_until(one, lambda fs: "<b>1</b> viewer in this room" in "".join(fs))
    await one.disconnect()


async def test_stream_stop_before_it_starts(room):
    viewer, _ = await open_viewer(room)
    [number] = await start(viewer, "sync", count=5, interval=0.05)
    await viewer.send_json_to({"action": "stop", "stream": number})
    await receive_until(viewer, ended(number, "stopped"))

    producer = await open_producer(room, "sync", number)
    reply = await producer.receive_json_from(timeout=5)
    assert reply["type"] == "error" and "stopped" in reply["message"]
    assert (await producer.receive_output(timeout=5)) == {
        "type": "websocket.close",
        "code": CLOSE_REFUSED,
    }
    await viewer.disconnect()


async def test_late_joiner_gets_current_counters(room):
    first, _ = await open_viewer(room)
    number, producer = await running_stream(first, room, "async", count=100, interval=0.02, seen=5)

    late, snapshot = await open_viewer(room)

    [(seen_number, state, seq)] = cards([snapshot])
    assert (seen_number, state) == (number, "running") and seq >= 5
    await first.send_json_to({"action": "stop", "stream": number})
    await run_to_end(producer)
    for comm in (first, late, producer):
        await comm.disconnect()


async def test_two_viewers_get_the_same_ticks_in_order(room):
    one, _ = await open_viewer(room)
    two, _ = await open_viewer(room)
    [number] = await start(one, "sync", count=6, interval=0.03)
    producer = await open_producer(room, "sync", number)
    await run_to_end(producer)

    seen = []
    for viewer in (one, two):
        frames = await receive_until(viewer, ended(number))
        seen.append([c for c in cards(frames) if c[0] == number and c[1] != "waiting"])
    assert seen[0] == seen[1]
    assert [seq for _, _, seq in seen[0]] == [0, 1, 2, 3, 4, 5, 6, 6]
    for comm in (one, two, producer):
        await comm.disconnect()


async def test_chat_reaches_everyone_escaped(room):
    one, _ = await open_viewer(room)
    two, _ = await open_viewer(room)
    text = '<img src=x onerror=alert(1)> & "hi"'
    await one.send_json_to({"action": "chat", "text": text, "HEADERS": {"HX-Trigger": "chat-form"}})

    for viewer in (one, two):
        frames = await receive_until(viewer, lambda fs: "chat-line" in "".join(fs))
        line = next(f for f in frames if "chat-line" in f)
        assert html.escape(text) in line
        assert "<img" not in line
    await one.disconnect()
    await two.disconnect()


# The wiring only: that a refusal reaches the panel that sent it and changes nothing else.
# Every message the parser gives is tested in test_commands.py and test_malformed.py.
@pytest.mark.parametrize(
    ("frame", "panel", "message"),
    [
        ("{not json", "room", "Malformed JSON"),
        (
            '{"action": "dance", "HEADERS": {"HX-Trigger": "start-async"}}',
            "async",
            "Unknown action",
        ),
        (
            '{"action": "start", "mode": "sync", "count": 0, "interval": 1, "streams": 1}',
            "sync",
            "Ticks must be between 1 and 10000",
        ),
        ('{"action": "stop", "stream": 999}', "room", "no stream 999"),
    ],
)
async def test_bad_input_shows_error_in_panel_and_changes_nothing(room, frame, panel, message):
    sender, _ = await open_viewer(room)
    other, _ = await open_viewer(room)

    await sender.send_to(text_data=frame)
    reply = await receive_reply(sender)

    assert f'id="errors-{panel}"' in reply and message in reply
    await receive_only_gauges(other, 0.3)
    # The connection is still up and still works.
    await sender.send_json_to({"action": "chat", "text": "still here"})
    assert "still here" in "".join(
        await receive_until(sender, lambda fs: "chat-line" in "".join(fs))
    )
    await sender.disconnect()
    await other.disconnect()


async def test_thread_model_switch_reaches_everyone(room):
    one, _ = await open_viewer(room)
    two, _ = await open_viewer(room)
    await one.send_json_to({"action": "thread_model", "model": "per_connection"})
    for viewer in (one, two):
        frames = await receive_until(viewer, lambda fs: 'id="thread-model"' in "".join(fs))
        assert 'value="per_connection" checked' in "".join(frames)
    three, snapshot = await open_viewer(room)
    assert 'value="per_connection" checked' in snapshot
    for viewer in (one, two, three):
        await viewer.disconnect()


async def test_reset_clears_finished_streams_only(room):
    viewer, _ = await open_viewer(room)
    [done] = await start(viewer, "async", count=1, interval=0.01)
    await run_to_end(await open_producer(room, "async", done))
    [waiting] = await start(viewer, "sync", count=1, interval=0.01)

    await viewer.send_json_to({"action": "reset"})
    frames = await receive_until(viewer, lambda fs: bool(fs) and 'class="stream-list"' in fs[-1])

    # The columns replaced whole; in the same frame, maybe, the events just before them.
    columns = frames[-1][frames[-1].index('id="sync-streams" class="stream-list"') :]
    remaining = {n for n, _, _ in cards([columns])}
    assert remaining == {waiting}
    other, snapshot = await open_viewer(room)
    assert {n for n, _, _ in cards([snapshot])} == {waiting}
    await viewer.disconnect()
    await other.disconnect()


async def test_room_limit_is_a_clear_refusal(room, settings):
    settings.DASHBOARD_MAX_STREAMS_PER_ROOM = 3
    viewer, _ = await open_viewer(room)
    await start(viewer, "async", count=5, interval=1, streams=2)
    await viewer.send_json_to(
        {"action": "start", "mode": "async", "count": 5, "interval": 1, "streams": 2}
    )
    frames = await receive_until(viewer, lambda fs: "at most 3 streams" in "".join(fs))
    assert 'id="errors-async"' in frames[-1]
    await viewer.disconnect()


async def test_viewer_leaving_stops_its_unstarted_streams(room):
    watcher, _ = await open_viewer(room)
    starter, _ = await open_viewer(room)
    [number] = await start(starter, "sync", count=5, interval=0.1)
    await starter.disconnect()
    frames = await receive_until(watcher, ended(number, "stopped"))
    assert "its page closed before it started" in frames[-1]
    await watcher.disconnect()


@pytest.mark.parametrize(
    "path", ["/ws/rooms/bad%20room/", "/ws/rooms/caf\u00e9/sync/", "/ws/nowhere/"]
)
async def test_bad_paths_close_with_a_final_code(path):
    comm = communicator(path)
    connected, _ = await comm.connect()
    assert connected
    assert (await comm.receive_output(timeout=5)) == {
        "type": "websocket.close",
        "code": CLOSE_BAD_ROOM,
    }


async def test_idle_viewer_outlives_redis_socket_timeout(room):
    """redis-py 8's default socket_timeout=5 closed idle consumers after 5.3 s."""
    one, _ = await open_viewer(room)
    await asyncio.sleep(6)
    two, _ = await open_viewer(room)
    await two.send_json_to({"action": "chat", "text": "after six seconds"})
    frames = await receive_until(one, lambda fs: "chat-line" in "".join(fs))
    assert "after six seconds" in frames[-1]
    await one.disconnect()
    await two.disconnect()


async def test_gauges_show_the_shared_thread_held_by_a_sync_loop(room):
    viewer, _ = await open_viewer(room)
    [number] = await start(viewer, "sync", count=40, interval=0.03)
    producer = await open_producer(room, "sync", number)

    frames = await receive_until(viewer, lambda fs: "and counting" in "".join(fs))
    waiting = next(f for f in frames if "and counting" in f)
    assert 'id="gauges"' in waiting and 'class="blocked"' in waiting
    await run_to_end(producer)
    await viewer.disconnect()


async def test_viewer_leaving_leaves_its_running_streams_alone(room):
    watcher, _ = await open_viewer(room)
    starter, _ = await open_viewer(room)
    number, producer = await running_stream(starter, room, "async", count=8, interval=0.03)
    await starter.disconnect()

    replies = await run_to_end(producer)
    assert replies[-1]["type"] == "stream.finished" and replies[-1]["seq"] == 8
    await receive_until(watcher, ended(number))
    await watcher.disconnect()


async def test_chat_is_limited_per_connection_with_the_wait_shown(room, settings):
    settings.DASHBOARD_CHAT_PER_MINUTE = 3
    chatty, _ = await open_viewer(room)
    other, _ = await open_viewer(room)
    for n in range(3):
        await chatty.send_json_to({"action": "chat", "text": f"line {n}"})
        await receive_until(chatty, lambda fs, n=n: f"line {n}" in "".join(fs))
    await chatty.send_json_to({"action": "chat", "text": "one too many"})
    reply = await receive_reply(chatty)
    assert 'id="errors-chat"' in reply and "At most 3 chat messages a minute; wait" in reply
    # Another page has its own allowance, and the limited one still does everything else.
    await other.send_json_to({"action": "chat", "text": "from the other page"})
    await receive_until(chatty, lambda fs: "from the other page" in "".join(fs))
    await start(chatty, "async", count=1, interval=0.01)  # unpacks one number, or fails
    for comm in (chatty, other):
        await comm.disconnect()


async def until_viewers_in_process(count: int) -> None:
    """Viewers of earlier tests leave just after their disconnect: wait for them."""

    async def viewers() -> int:
        return SAMPLER.viewers

    await eventually(viewers, lambda n: n == count)


async def test_viewers_over_the_process_limit_are_told_and_closed(room, settings):
    settings.DASHBOARD_MAX_VIEWERS_PER_PROCESS = 2
    await until_viewers_in_process(0)
    first, _ = await open_viewer(room)
    second, _ = await open_viewer(room)
    third = communicator(f"/ws/rooms/{room}/")
    assert (await third.connect())[0]
    refusal = await third.receive_from(timeout=5)
    assert "limit of 2 viewers" in refusal and 'id="errors-room"' in refusal
    assert (await third.receive_output(timeout=5)) == {"type": "websocket.close", "code": 4429}
    await second.disconnect()
    await until_viewers_in_process(1)
    fourth, snapshot = await open_viewer(room)  # a place is free again
    assert 'id="sync-streams"' in snapshot
    for comm in (first, fourth):
        await comm.disconnect()


async def test_a_viewer_that_reads_nothing_is_closed_and_a_reading_one_goes_on(room, settings):
    """Flow control: a page acks what it has read. One that acks nothing is closed with
    4008 once it has more than the limit unread; one that acks outlives many limits' worth."""
    settings.DASHBOARD_CHAT_PER_MINUTE = 1000
    settings.DASHBOARD_MAX_UNREAD_CHARS = limit = 30_000
    reader, snapshot = await open_viewer(room)
    stalled, its_snapshot = await open_viewer(room)
    read = len(snapshot)
    for n in itertools.count():
        line = f"line {n} " + "x" * 400
        await reader.send_json_to({"action": "chat", "text": line})
        read += sum(map(len, await receive_until(reader, lambda fs, t=line: t in "".join(fs))))
        await reader.send_json_to({"action": "ack", "read": read})
        if read > 3 * limit:
            break
    unread, closed = len(its_snapshot), None
    while closed is None:  # what reached the stalled page, then its close
        output = await stalled.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            closed = output["code"]
        else:
            unread += len(output["text"])
    assert closed == CLOSE_UNREAD
    assert limit - 1000 < unread <= limit  # cut at the frame that would pass the limit
    await reader.send_json_to({"action": "chat", "text": "still here"})
    await receive_until(reader, lambda fs: "still here" in "".join(fs))
    await reader.disconnect()


async def test_stream_numbers_go_on_from_the_history_when_the_cache_forgot_the_room(room):
    """A restarted server with the memory cache: the next stream is not a second #1."""
    viewer, _ = await open_viewer(room)
    [first] = await start(viewer, "async", count=1, interval=0.01)
    await run_to_end(await open_producer(room, "async", first))
    await receive_until(viewer, lambda fs: "history-rows" in "".join(fs))
    await live.aforget(await live.astreams(room))
    await asyncio.to_thread(cache.delete, f"room:{room}:seq")  # what a restart loses
    [second] = await start(viewer, "async", count=1, interval=0.01)
    assert second == first + 1
    await viewer.disconnect()


async def test_a_running_stream_whose_process_died_ends_failed_when_a_viewer_comes(room):
    """A restart or a crash leaves a record saying "running" that nobody will tick again:
    the next viewer's sweep ends it, before its snapshot."""
    first, _ = await open_viewer(room)
    [number] = await start(first, "sync", count=50, interval=1)
    stream = (await live.aload(room, number)).started(time.time() - 60, ThreadModel.SHARED)
    stream = ticked(stream, 3, 0.002)  # its last tick, 57 s ago; then its process died
    stream = dataclasses.replace(stream, process="gone:1")  # a process that beats no more
    await live.asave(stream)

    late, snapshot = await open_viewer(room)
    assert cards([snapshot]) == [(number, "failed", 3)]
    assert "its server process stopped: no word from it for 57 s" in snapshot
    frames = await receive_until(first, lambda fs: "history-rows" in "".join(fs))
    assert (number, "failed", 3) in cards(frames)
    run = await StreamRun.objects.aget(room=room, number=number)
    assert (run.outcome, run.ticks_sent, run.lateness_max) == ("failed", 3, 0.002)
    again, snapshot = await open_viewer(room)  # expired once, recorded once
    assert cards([snapshot]) == [(number, "failed", 3)]
    assert await StreamRun.objects.filter(room=room).acount() == 1
    for comm in (first, late, again):
        await comm.disconnect()


async def test_a_history_row_travels_in_a_frame_of_its_own(room, settings):
    """A <tbody> fragment followed by anything in one frame parses as neither: batched
    events are one frame, but for a history row."""
    settings.DASHBOARD_FLUSH_MS = 300  # everything that comes together, in one batch
    viewer, _ = await open_viewer(room)
    [number] = await start(viewer, "async", count=2, interval=0.01)
    await run_to_end(await open_producer(room, "async", number))
    frames = await receive_until(viewer, lambda fs: "history-rows" in "".join(fs))
    [row] = [f for f in frames if "history-rows" in f]
    assert row.lstrip().startswith('<tbody id="history-rows"') and row.rstrip().endswith("</tbody>")
    assert any(f.count('id="stream-') > 1 for f in frames)  # the rest did come together
    await viewer.disconnect()
