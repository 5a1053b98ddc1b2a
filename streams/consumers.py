"""WebSocket consumers: one viewer per page, one producer per stream.

The one fact to know: **all sync consumers of one process share one thread**.
``SyncConsumer.dispatch`` runs through ``database_sync_to_async`` (thread-sensitive) and
neither Channels nor Daphne sets a ``ThreadSensitiveContext``
(https://github.com/django/channels/issues/2132), so a sync handler looping on
``time.sleep`` holds that thread until it ends. Since Channels 4.2,
``AsyncConsumer.dispatch`` also awaits ``aclose_old_connections()`` on that same thread
before every message. The producers keep both behaviours, because they are what the
dashboard measures; the viewer skips the second, so the page stays live whatever runs.

The producers are twins: read them side by side. They differ in the sleep, the send, and
in that the async one ticks in a task of its own and so keeps hearing its client.
"""

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

from asgiref.sync import async_to_sync
from channels.consumer import AsyncConsumer, SyncConsumer, get_handler_name
from channels.exceptions import StopConsumer

from streams import control, events, fragments, gauges, live, producing
from streams.commands import CommandError, parse_producer_frame, parse_room_frame
from streams.models import StreamRun
from streams.producing import Refused
from streams.rooms import InvalidRoom, room_group, stream_group, validate_room
from streams.schedule import TickSchedule
from streams.stream import CLIENT_LEFT, STOPPED_BY_USER, Mode, State, Stream

Message = dict[str, Any]

# 4xxx close codes: htmx's ws extension retries only 1006/1011/1012/1013, so these are final.
CLOSE_BAD_ROOM = 4404
CLOSE_REFUSED = 4409


def _room_from(scope: dict[str, Any]) -> str | None:
    try:
        return validate_room(scope["url_route"]["kwargs"]["room"])
    except InvalidRoom:
        return None


def _as_text(payload: Message) -> Message:
    """A JSON reply for a producer's own client."""
    return {"type": "websocket.send", "text": json.dumps(payload)}


def _end_kind(stream: Stream) -> str:
    return "stream.finished" if stream.state is State.DONE else "stream.stopped"


class RoomConsumer(AsyncConsumer):
    """A page's one connection: a member of the room's group that takes the page's
    commands and forwards each event's fragment, rendered once by whoever sent it.

    Mounted without ``AuthMiddlewareStack``, which looks the user up on the shared thread.
    """

    room: str | None = None
    gauging = False
    in_snapshot: frozenset[int] | set[int] = frozenset()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Leave the groups however the connection ends, so no ghost member lingers.
            if self.room is not None:
                await self.channel_layer.group_discard(room_group(self.room), self.channel_name)
                await self.channel_layer.group_discard(gauges.GROUP, self.channel_name)
            if self.gauging:
                gauges.SAMPLER.left()

    async def dispatch(self, message: Message) -> None:
        # AsyncConsumer.dispatch first awaits aclose_old_connections(), a thread-sensitive
        # call that queues behind any sync consumer's loop: the page would freeze while a
        # sync stream runs. This consumer never touches the ORM (live state is in the
        # cache, read off-thread), so it has no database connection to close.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_connect(self, message: Message) -> None:
        self.requested: list[int] = []
        room = _room_from(self.scope)
        await self.send({"type": "websocket.accept"})
        if room is None:
            await self.send({"type": "websocket.close", "code": CLOSE_BAD_ROOM})
            return
        self.room = room
        await self.channel_layer.group_add(room_group(room), self.channel_name)
        await self.channel_layer.group_add(gauges.GROUP, self.channel_name)
        gauges.SAMPLER.joined()
        self.gauging = True
        # A viewer who joins mid-stream, or reconnects, sees the current counters at once.
        streams = await live.astreams(room)
        # Queued stream.waiting events for these would append their cards a second time.
        self.in_snapshot = {stream.number for stream in streams}
        model = await live.athread_model(room)
        await self.send_html(
            fragments.columns(streams, time.time()) + fragments.thread_model(room, model)
        )

    async def websocket_receive(self, message: Message) -> None:
        if self.room is None:
            return
        try:
            command = parse_room_frame(message.get("text"), message.get("bytes"))
            outcome = await control.apply(self.room, command)
        except CommandError as error:
            await self.send_html(fragments.error(error.panel, error.message))
            return
        self.requested.extend(outcome.requested)
        for event in outcome.events:
            await self.channel_layer.group_send(room_group(self.room), event)
        for group, notice in outcome.notices.items():
            await self.channel_layer.group_send(group, notice)
        await self.send_html(fragments.clear_error(command.panel) + outcome.reply)

    async def websocket_disconnect(self, message: Message) -> None:
        if self.room is not None:
            for event in await control.abandon(self.room, self.requested):
                await self.channel_layer.group_send(room_group(self.room), event)
        raise StopConsumer

    async def forward(self, event: Message) -> None:
        await self.send_html(event["html"])

    async def stream_waiting(self, event: Message) -> None:
        if event["stream"] not in self.in_snapshot:
            await self.send_html(event["html"])

    # Channels calls the handler named after the event type, "." as "_": the source notes'
    # chat.message arrives at chat_message. Every one of these forwards the sender's render.
    chat_message = stream_attempt = stream_started = stream_tick = forward
    stream_finished = stream_stopped = room_reset = room_thread_model = run_recorded = forward
    process_gauges = forward

    async def send_html(self, html: str) -> None:
        await self.send({"type": "websocket.send", "text": html})


class SyncTickConsumer(SyncConsumer):
    """Runs one stream: paced with ``time.sleep``, sent with ``async_to_sync(group_send)``.

    Its loop holds the process's shared sync thread from the first tick to the last: no
    other sync consumer (and no default async one) gets a message meanwhile, this one
    included: it cannot hear its client leave.
    """

    mode = Mode.SYNC
    room: str | None = None
    stream: Stream | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        except asyncio.CancelledError:
            # Daphne cancels a consumer 10 s after its client left, but cancelling cannot
            # stop a thread: flag the stream orphaned for the loop to show, stoppable by anyone.
            if self.stream is not None and self.stream.is_live:
                await live.aflag_orphaned(self.stream.room, self.stream.number)
            raise

    def websocket_connect(self, message: Message) -> None:
        self.room = _room_from(self.scope)
        self.send({"type": "websocket.accept"})
        if self.room is None:
            self.close(CLOSE_BAD_ROOM)

    def websocket_receive(self, message: Message) -> None:
        if self.room is None:
            return
        if self.stream is not None:
            self.reply({"type": "error", "message": "This connection has run its stream."})
            return
        try:
            run = parse_producer_frame(message.get("text"), message.get("bytes"))
        except CommandError as error:
            self.reply({"type": "error", "message": error.message})
            return
        try:
            self.stream = producing.claim(self.room, self.mode, run, self.scope["thread_model"])
        except Refused as refused:
            if refused.stopped is not None:
                event = events.stream_event("stream.stopped", refused.stopped, time.time())
                self.group_send(event)
            self.reply({"type": "error", "message": refused.message})
            self.close(CLOSE_REFUSED)
            return
        self.run_stream(self.stream)

    def websocket_disconnect(self, message: Message) -> None:
        raise StopConsumer

    def run_stream(self, stream: Stream) -> None:
        schedule = TickSchedule(time.monotonic(), stream.interval, stream.count)
        lateness: list[float] = []
        try:
            self.publish("stream.started", stream)
            for seq in schedule.seqs:
                time.sleep(schedule.wait_before(seq, time.monotonic()))
                stop, orphaned = live.flags(stream.room, stream.number)
                if stop:
                    stream = stream.ended(State.STOPPED, time.time(), STOPPED_BY_USER)
                    break
                lateness.append(schedule.lateness(seq, time.monotonic()))
                stream = stream.ticked(seq, lateness[-1], orphaned)
                self.publish("stream.tick", stream)
            else:
                stream = stream.ended(State.DONE, time.time())
        finally:
            producing.SLOTS.release()
        self.publish(_end_kind(stream), stream)
        run = StreamRun.from_stream(stream, lateness)
        run.save()
        self.group_send(events.room_event("run.recorded", fragments.history_row(run)))
        self.close()

    def publish(self, kind: str, stream: Stream) -> None:
        """Store the stream's state for late joiners, then tell the room and the client."""
        self.stream = stream
        live.save(stream)
        event = events.stream_event(kind, stream, time.time())
        self.group_send(event)
        self.reply(events.for_client(event))

    def group_send(self, event: Message) -> None:
        assert self.room is not None
        with self.client_may_be_gone():
            async_to_sync(self.channel_layer.group_send)(room_group(self.room), event)

    def reply(self, payload: Message) -> None:
        with self.client_may_be_gone():
            self.send(_as_text(payload))

    def close(self, code: int = 1000) -> None:
        with self.client_may_be_gone():
            self.send({"type": "websocket.close", "code": code})

    @contextlib.contextmanager
    def client_may_be_gone(self) -> Iterator[None]:
        """Once Daphne has cancelled this consumer (its client left), asgiref cancels a send
        in flight inside this thread. The loop goes on, orphaned; anyone can stop it."""
        try:
            yield
        except asyncio.CancelledError:
            if self.stream is not None and self.stream.is_live:
                live.flag_orphaned(self.stream.room, self.stream.number)


class AsyncTickConsumer(AsyncConsumer):
    """Runs one stream: paced with ``asyncio.sleep``, sent with ``await group_send``.

    Its loop runs in a task of its own, so the consumer goes on receiving: a lost client
    stops the stream at once. Like every default ``AsyncConsumer`` it still waits for the
    shared sync thread before each message it receives, its handshake included.
    """

    mode = Mode.ASYNC
    room: str | None = None
    stream: Stream | None = None
    ticking: "asyncio.Task[None] | None" = None
    looping = False
    stop_note = CLIENT_LEFT  # why a cancelled loop ended

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # However the connection ends, its loop must not outlive it.
            if self.ticking is not None:
                self.ticking.cancel()
            if self.stream is not None:
                group = stream_group(self.stream.room, self.stream.number)
                await self.channel_layer.group_discard(group, self.channel_name)

    async def websocket_connect(self, message: Message) -> None:
        self.room = _room_from(self.scope)
        await self.send({"type": "websocket.accept"})
        if self.room is None:
            await self.close(CLOSE_BAD_ROOM)

    async def websocket_receive(self, message: Message) -> None:
        if self.room is None:
            return
        if self.stream is not None:
            await self.reply({"type": "error", "message": "This connection has run its stream."})
            return
        try:
            run = parse_producer_frame(message.get("text"), message.get("bytes"))
        except CommandError as error:
            await self.reply({"type": "error", "message": error.message})
            return
        try:
            self.stream = await producing.aclaim(
                self.room, self.mode, run, self.scope["thread_model"]
            )
        except Refused as refused:
            if refused.stopped is not None:
                event = events.stream_event("stream.stopped", refused.stopped, time.time())
                await self.group_send(event)
            await self.reply({"type": "error", "message": refused.message})
            await self.close(CLOSE_REFUSED)
            return
        # Unlike its sync twin, this consumer hears a stop between ticks.
        group = stream_group(self.stream.room, self.stream.number)
        await self.channel_layer.group_add(group, self.channel_name)
        self.ticking = asyncio.create_task(self.run_stream(self.stream))

    async def stream_stop(self, event: Message) -> None:
        """``stream.stop`` from the dashboard: end the loop now, not at its next tick."""
        if self.ticking is not None and self.looping:
            self.stop_note = STOPPED_BY_USER
            self.ticking.cancel()

    async def websocket_disconnect(self, message: Message) -> None:
        if self.ticking is not None:
            if self.looping:
                self.ticking.cancel()
            # Let it announce its end and record its run, cancelled or not.
            await asyncio.wait([self.ticking])
        raise StopConsumer

    async def run_stream(self, stream: Stream) -> None:
        schedule = TickSchedule(time.monotonic(), stream.interval, stream.count)
        lateness: list[float] = []
        self.looping = True
        try:
            await self.publish("stream.started", stream)
            for seq in schedule.seqs:
                await asyncio.sleep(schedule.wait_before(seq, time.monotonic()))
                stop, orphaned = await live.aflags(stream.room, stream.number)
                if stop:
                    stream = stream.ended(State.STOPPED, time.time(), STOPPED_BY_USER)
                    break
                lateness.append(schedule.lateness(seq, time.monotonic()))
                stream = stream.ticked(seq, lateness[-1], orphaned)
                await self.publish("stream.tick", stream)
            else:
                stream = stream.ended(State.DONE, time.time())
        except asyncio.CancelledError:
            # Cancelled by stream_stop, or by websocket_disconnect: the client left.
            stream = stream.ended(State.STOPPED, time.time(), self.stop_note)
        finally:
            self.looping = False
            producing.SLOTS.release()
        await self.publish(_end_kind(stream), stream)
        run = StreamRun.from_stream(stream, lateness)
        await run.asave()
        await self.group_send(events.room_event("run.recorded", fragments.history_row(run)))
        await self.close()

    async def publish(self, kind: str, stream: Stream) -> None:
        """Store the stream's state for late joiners, then tell the room and the client."""
        self.stream = stream
        await live.asave(stream)
        event = events.stream_event(kind, stream, time.time())
        await self.group_send(event)
        await self.reply(events.for_client(event))

    async def group_send(self, event: Message) -> None:
        assert self.room is not None
        await self.channel_layer.group_send(room_group(self.room), event)

    async def reply(self, payload: Message) -> None:
        await self.send(_as_text(payload))

    async def close(self, code: int = 1000) -> None:
        await self.send({"type": "websocket.close", "code": code})
