"""The producer twins through the real ASGI application, on the in-memory layer and on
Redis: a stream's run from its claim to its row, and every way it can end."""

import asyncio
import itertools
import json

import pytest

from streams.close_codes import CLOSE_REFUSED
from streams.models import StreamRun
from streams.ticking import Ticker
from tests.asgi.wsclient import (
    cards,
    communicator,
    ended,
    open_producer,
    open_viewer,
    receive_until,
    run_to_end,
    running_stream,
    start,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("layer", "connections_closed"),
]


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_stream_start_tick_finish(room, mode):
    viewer, _ = await open_viewer(room)
    [number] = await start(viewer, mode, count=3, interval=0.05)
    producer = await open_producer(room, mode, number)

    replies = await run_to_end(producer)
    frames = await receive_until(viewer, lambda fs: "history-rows" in "".join(fs))

    assert [r["type"] for r in replies] == [
        "stream.started",
        "stream.tick",
        "stream.tick",
        "stream.tick",
        "stream.finished",
    ]
    assert [r["seq"] for r in replies if r["type"] == "stream.tick"] == [1, 2, 3]
    seen = [c for c in cards(frames) if c[0] == number]
    assert [seq for _, _, seq in seen] == sorted(seq for _, _, seq in seen)
    assert seen[-1] == (number, "done", 3)
    ticks = [r for r in replies if r["type"] == "stream.tick"]
    assert all(r["sent"] >= r["scheduled"] - 0.001 for r in ticks)
    due = [r["scheduled"] for r in ticks]
    assert [round(b - a, 6) for a, b in itertools.pairwise(due)] == [0.05, 0.05]
    run = await StreamRun.objects.aget(room=room, number=number)
    assert (run.mode, run.thread_model, run.outcome) == (mode, "shared", "finished")
    assert (run.ticks_sent, run.ticks_delivered, run.ticks_lost, run.viewers) == (3, 3, 0, 1)
    assert run.lateness_max is not None and run.waited is not None
    await viewer.disconnect()
    await producer.disconnect()


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_stream_stop_from_dashboard(room, mode):
    viewer, _ = await open_viewer(room)
    number, producer = await running_stream(viewer, room, mode, count=200, interval=0.02)

    await viewer.send_json_to({"action": "stop", "stream": number})
    frames = await receive_until(viewer, ended(number, "stopped"))

    replies = await run_to_end(producer)
    assert replies[-1]["type"] == "stream.stopped"
    assert 2 <= replies[-1]["seq"] < 200
    assert "stopped from the dashboard" in frames[-1]
    await receive_until(viewer, lambda fs: "history-rows" in "".join(fs))
    run = await StreamRun.objects.aget(room=room, number=number)
    assert (run.outcome, run.ticks_sent) == ("stopped", replies[-1]["seq"])
    await viewer.disconnect()
    await producer.disconnect()


@pytest.mark.parametrize("leaving", ["disconnect", "reaped"])
async def test_an_async_stream_whose_client_left_stops_at_once(room, leaving):
    """Its client closes; or Daphne cancels a consumer whose client left 10 s ago and which
    has not finished, as it cancels every one at shutdown: only the shutdown is "the server
    stopped"."""
    viewer, _ = await open_viewer(room)
    number, producer = await running_stream(viewer, room, "async", count=500, interval=0.02)

    if leaving == "disconnect":
        await producer.disconnect()
    else:
        producer.future.cancel()  # what Daphne's application checker does
    frames = await receive_until(viewer, ended(number, "stopped"), timeout=2)
    assert "its client left" in frames[-1]
    await receive_until(viewer, lambda fs: "history-rows" in "".join(fs))
    run = await StreamRun.objects.aget(room=room, number=number)
    assert (run.outcome, run.note) == ("stopped", "its client left")
    await viewer.disconnect()


async def test_sync_stream_whose_client_left_is_orphaned_and_stoppable(room):
    viewer, _ = await open_viewer(room)
    number, producer = await running_stream(viewer, room, "sync", count=300, interval=0.02)

    # The communicator cancels the consumer after the timeout, as Daphne does after 10 s.
    # Cancelled mid-send, asgiref makes the canceller wait for the thread, so do not wait
    # here either: Daphne does not.
    leaving = asyncio.create_task(producer.disconnect(timeout=0.1))
    await receive_until(viewer, lambda fs: any(c[:2] == (number, "orphaned") for c in cards(fs)))
    await viewer.send_json_to({"action": "stop", "stream": number})
    frames = await receive_until(viewer, ended(number, "stopped"))
    assert [c for c in cards(frames) if c[0] == number][-1][2] < 300
    await receive_until(viewer, lambda fs: "history-rows" in "".join(fs))
    run = await StreamRun.objects.aget(room=room, number=number)
    assert run.outcome == "orphaned" and run.note == "stopped from the dashboard"
    await leaving
    await viewer.disconnect()


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_loop_that_raises_ends_failed_visibly_and_is_recorded(room, mode, monkeypatch):
    real_tick = Ticker.tick

    def tick_then_fail(self, stream, seq, work=0.0):
        if seq == 2:
            raise RuntimeError("the second tick broke")
        return real_tick(self, stream, seq, work)

    monkeypatch.setattr(Ticker, "tick", tick_then_fail)
    viewer, _ = await open_viewer(room)
    [number] = await start(viewer, mode, count=5, interval=0.02)
    replies = await run_to_end(await open_producer(room, mode, number))

    assert replies[-1]["type"] == "stream.failed" and replies[-1]["seq"] == 1
    frames = await receive_until(viewer, lambda fs: "history-rows" in "".join(fs))
    assert any("failed: RuntimeError: the second tick broke" in f for f in frames)
    run = await StreamRun.objects.aget(room=room, number=number)
    assert (run.outcome, run.ticks_sent, run.note) == (
        "failed",
        1,
        "RuntimeError: the second tick broke",
    )
    await viewer.disconnect()


async def test_producer_bad_frames_keep_the_connection(room):
    producer = communicator(f"/ws/rooms/{room}/async/")
    assert (await producer.connect())[0]
    for frame, message in [
        ("nope", "Malformed JSON"),
        ('{"action": "fly"}', "Unknown action"),
        ('{"action": "run", "count": 0, "interval": 1}', "Ticks must be between"),
    ]:
        await producer.send_to(text_data=frame)
        reply = await producer.receive_json_from(timeout=5)
        assert reply["type"] == "error" and message in reply["message"]
    # Still open after those; a run of a stream that does not exist is refused and closed.
    await producer.send_to(text_data='{"action": "run", "stream": 12345}')
    reply = await producer.receive_json_from(timeout=5)
    assert reply["type"] == "error" and "No stream 12345" in reply["message"]
    assert (await producer.receive_output(timeout=5))["code"] == CLOSE_REFUSED


async def test_terminal_client_runs_its_own_stream(room):
    """A client that is not the page sends count and interval itself: JSON both ways."""
    viewer, _ = await open_viewer(room)
    producer = communicator(f"/ws/rooms/{room}/sync/")
    assert (await producer.connect())[0]
    await producer.send_to(text_data=json.dumps({"action": "run", "count": 2, "interval": 0.02}))
    replies = await run_to_end(producer)
    assert [r["type"] for r in replies] == [
        "stream.started",
        "stream.tick",
        "stream.tick",
        "stream.finished",
    ]
    number = replies[-1]["stream"]
    frames = await receive_until(viewer, ended(number))
    assert cards(frames)[-1] == (number, "done", 2)
    await viewer.disconnect()


async def test_stream_records_the_per_connection_thread_model(room):
    viewer, _ = await open_viewer(room)
    await viewer.send_json_to({"action": "thread_model", "model": "per_connection"})
    await receive_until(viewer, lambda fs: 'id="thread-model"' in "".join(fs))
    [number] = await start(viewer, "sync", count=2, interval=0.02)
    await run_to_end(await open_producer(room, "sync", number))
    frames = await receive_until(viewer, lambda fs: "history-rows" in "".join(fs))
    assert "own thread" in frames[-1]
    run = await StreamRun.objects.aget(room=room, number=number)
    assert run.thread_model == "per_connection"
    await viewer.disconnect()


async def test_process_limit_refusal_ends_the_stream_visibly(room, settings):
    settings.DASHBOARD_MAX_STREAMS_PER_PROCESS = 0
    viewer, _ = await open_viewer(room)
    [number] = await start(viewer, "sync", count=3, interval=0.05)
    producer = await open_producer(room, "sync", number)

    reply = await producer.receive_json_from(timeout=5)
    assert reply["type"] == "error" and "limit" in reply["message"]
    assert (await producer.receive_output(timeout=5))["code"] == CLOSE_REFUSED
    frames = await receive_until(viewer, ended(number, "stopped"))
    assert "limit" in frames[-1]
    await viewer.disconnect()


async def test_async_run_is_recorded_when_its_client_leaves_right_after_the_end(room):
    viewer, _ = await open_viewer(room)
    [number] = await start(viewer, "async", count=2, interval=0.02)
    producer = await open_producer(room, "async", number)
    while (await producer.receive_json_from(timeout=5))["type"] != "stream.finished":
        pass
    await producer.disconnect()

    frames = await receive_until(viewer, lambda fs: "history-rows" in "".join(fs))
    assert f"#{number}" in frames[-1]
    await viewer.disconnect()


async def test_producer_with_a_huge_stream_number_in_its_url_is_handled(room):
    producer = communicator(f"/ws/rooms/{room}/sync/?stream={'9' * 5000}")
    assert (await producer.connect())[0]  # the number is read as the handshake is noted
    # The number matters no further than that: a run of its own works on this connection.
    await producer.send_json_to({"action": "run", "count": 1, "interval": 0.01})
    assert (await run_to_end(producer))[-1]["type"] == "stream.finished"
    await producer.disconnect()


async def test_async_stream_stops_between_ticks(room):
    """An async producer hears stream.stop at once; a 5 s interval does not delay it."""
    viewer, _ = await open_viewer(room)
    [number] = await start(viewer, "async", count=10, interval=5)
    producer = await open_producer(room, "async", number)
    await receive_until(viewer, lambda fs: any(c[:2] == (number, "running") for c in cards(fs)))

    await viewer.send_json_to({"action": "stop", "stream": number})
    frames = await receive_until(viewer, ended(number, "stopped"), timeout=2)

    assert "stopped from the dashboard" in frames[-1]
    replies = await run_to_end(producer)
    assert replies[-1]["type"] == "stream.stopped" and replies[-1]["seq"] == 0
    await viewer.disconnect()
