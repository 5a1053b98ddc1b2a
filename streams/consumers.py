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
import logging
import time
from collections.abc import Iterator
from typing import Any

from asgiref.sync import async_to_sync
from autobahn.exception import Disconnected
from channels.consumer import AsyncConsumer, SyncConsumer, get_handler_name
from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer
from django.conf import settings

from streams import control, events, fanout, fragments, gauges, live, producing, recording
from streams.commands import Ack, CommandError, parse_producer_frame, parse_room_frame
from streams.limits import RateLimit, Unread, viewer_refusal
from streams.live import STORE_DOWN
from streams.presence import PRESENCE
from streams.producing import Refused
from streams.rooms import InvalidRoom, room_group, stream_group, validate_room
from streams.schedule import Delivery
from streams.stream import CLIENT_LEFT, SERVER_STOPPED, STOPPED_BY_USER, Mode, State, Stream
from streams.ticking import Ticker

Message = dict[str, Any]
log = logging.getLogger(__name__)

# A send to a socket in its closing handshake: Daphne (autobahn) raises Disconnected, servers
# that follow the ASGI spec an OSError (https://asgi.readthedocs.io/en/latest/specs/www.html).
CLIENT_GONE = (Disconnected, OSError)

# 4xxx close codes: htmx's ws extension retries only 1006/1011/1012/1013, so these are final.
CLOSE_BAD_ROOM = 4404
CLOSE_REFUSED = 4409
CLOSE_FULL = 4429  # the process has its limit of viewers
CLOSE_UNREAD = 4008  # the page left too much unread: it reconnects, to a fresh snapshot
CLOSE_TRY_AGAIN = 1013  # Redis is down: htmx retries this one
UNAVAILABLE = "The channel layer is unavailable (Redis does not answer); try again when it is back."


def _room_from(scope: dict[str, Any]) -> str | None:
    try:
        return validate_room(scope["url_route"]["kwargs"]["room"])
    except InvalidRoom:
        return None


def _source(scope: dict[str, Any]) -> str:
    """Where a stream a producer registers itself comes from: ``manage.py stream`` runs a
    producer in its own process and says so in the scope; otherwise a WebSocket client."""
    source = scope.get("stream_source")
    if isinstance(source, str):
        return source
    host = (scope.get("client") or ["a WebSocket client"])[0]
    return f"a WebSocket client at {host}"


def _as_text(payload: Message) -> Message:
    """A JSON reply for a producer's own client."""
    return {"type": "websocket.send", "text": json.dumps(payload)}


def _failed(stream: Stream, error: Exception) -> Stream:
    if isinstance(error, STORE_DOWN):  # not a bug: no traceback
        log.warning("stream %s of room %s failed: %r", stream.number, stream.room, error)
    else:
        log.exception("stream %s of room %s failed", stream.number, stream.room)
    return stream.ended(State.FAILED, time.time(), f"{type(error).__name__}: {error}"[:200])


class RoomConsumer(AsyncConsumer):
    """A page's one connection: takes the page's commands and forwards each room event's
    fragment, rendered once by whoever sent it. The events come from this process's one
    member of the room's group (streams/fanout.py), not from a layer channel per viewer.

    It also keeps this page's own account of every stream: the sequence numbers it got,
    so it can show the ticks it missed, skip a stale tick, and report at each stream's
    end what reached it.

    Mounted without ``AuthMiddlewareStack``, which looks the user up on the shared thread.
    """

    room: str | None = None
    gauging = False
    counted = False
    closing = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unread = Unread(settings.DASHBOARD_MAX_UNREAD_CHARS)  # one per connection

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.deliveries: dict[int, Delivery] = {}
        # AsyncConsumer.__call__ would make this viewer a layer channel of its own; instead
        # this process's one member of each group hands it the events (streams/fanout.py).
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.base_send = send
        self.inbox = fanout.Inbox()
        try:
            await self.inbox.run(receive, self.dispatch)
        except StopConsumer:
            pass
        finally:
            # Leave the groups however the connection ends, so no ghost member lingers.
            # With Redis gone each step may fail; the others must still run.
            if self.room is not None:
                with contextlib.suppress(*STORE_DOWN):
                    await fanout.leave(room_group(self.room), self.inbox)
                with contextlib.suppress(*STORE_DOWN):
                    await fanout.leave(gauges.GROUP, self.inbox)
            if self.gauging:
                gauges.SAMPLER.left()
            if self.counted and self.room is not None:
                PRESENCE.left(self.room)  # written and sent with the next broadcast

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
        self.chat_allowance = RateLimit(settings.DASHBOARD_CHAT_PER_MINUTE, 60.0)
        room = _room_from(self.scope)
        await self.send({"type": "websocket.accept"})
        if room is None:
            await self.send({"type": "websocket.close", "code": CLOSE_BAD_ROOM})
            return
        refusal = viewer_refusal(gauges.SAMPLER.viewers, settings.DASHBOARD_MAX_VIEWERS_PER_PROCESS)
        if refusal is not None:
            await self.send_html(fragments.error("room", refusal))
            await self.send({"type": "websocket.close", "code": CLOSE_FULL})
            return
        self.room = room
        try:
            await fanout.join(room_group(room), self.inbox)
            await fanout.join(gauges.GROUP, self.inbox)
            gauges.SAMPLER.joined()
            self.gauging = True
            PRESENCE.joined(room)
            self.counted = True
            viewers = await PRESENCE.seen(room)
            # A viewer who joins mid-stream, or reconnects, sees the current counters at
            # once, and counts ticks from there: the ones before are unseen, not lost.
            await self.expire_stale(room)
            # layer_back: a page loaded while Redis was gone carries the banner until now.
            await self.send_snapshot(room, fragments.presence(viewers) + fragments.layer_back())
        except STORE_DOWN:
            # Redis is gone: say so, and close with 1013 ("try again later"), which the
            # htmx ws extension retries, so the page comes back by itself with Redis.
            await self.send_html(fragments.layer_down())
            await self.send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN})

    async def send_snapshot(self, room: str, extra: str = "") -> None:
        """The room as it is now, and this page's tick counting starting from it."""
        streams = await live.astreams(room)
        self.deliveries = {s.number: Delivery(last=s.seq) for s in streams if s.is_live}
        model = await live.athread_model(room)
        await self.send_html(
            fragments.columns(streams, time.time()) + fragments.thread_model(room, model) + extra
        )

    async def layer_back(self, event: Message) -> None:
        """The layer answers again: what this page missed meanwhile, as a fresh snapshot."""
        if self.room is not None:
            await self.send_snapshot(self.room, fragments.layer_back())

    async def expire_stale(self, room: str) -> None:
        """End the streams whose server process is gone (a restart): the room is told, and
        their runs are recorded as failed, rather than shown running for ever."""
        for stream in await producing.aexpire_stale(room, time.time()):
            event = events.stream_event("stream.failed", stream, time.time())
            await self.channel_layer.group_send(room_group(room), event)
            await recording.settle_later(await recording.asave_lost(stream))

    async def websocket_receive(self, message: Message) -> None:
        if self.room is None:
            return
        try:
            command = parse_room_frame(message.get("text"), message.get("bytes"))
            if isinstance(command, Ack):  # flow control: no reply, or it would need an ack
                self.unread.ack(command.read)
                return
            outcome = await control.apply(self.room, command, self.chat_allowance)
            self.requested.extend(outcome.requested)
            for event in outcome.events:
                await self.channel_layer.group_send(room_group(self.room), event)
            for group, notice in outcome.notices.items():
                await self.channel_layer.group_send(group, notice)
        except CommandError as error:
            await self.send_html(fragments.error(error.panel, error.message))
            return
        except STORE_DOWN:
            await self.send_html(fragments.error(command.panel, UNAVAILABLE))
            return
        await self.send_html(fragments.clear_error(command.panel) + outcome.reply)

    async def websocket_disconnect(self, message: Message) -> None:
        if self.room is not None:
            with contextlib.suppress(*STORE_DOWN):  # they stay waiting, then go stale
                for event in await control.abandon(self.room, self.requested):
                    await self.channel_layer.group_send(room_group(self.room), event)
        raise StopConsumer

    async def forward(self, event: Message) -> None:
        await self.send_html(event["html"])

    async def stream_waiting(self, event: Message) -> None:
        number = event["stream"]
        if number not in self.deliveries:  # else the snapshot already showed its card
            self.deliveries[number] = Delivery()
            await self.send_html(event["html"])

    async def stream_update(self, event: Message) -> None:
        """A tick, a handshake attempt or the start: forwarded unless it is older than
        what this page shows, with this page's count of missed ticks once it has any."""
        number, seq = event["stream"], event["seq"]
        delivery = self.deliveries.setdefault(number, Delivery(last=max(0, seq - 1)))
        fresh = delivery.tick(seq) if event["type"] == "stream.tick" else seq >= delivery.last
        if fresh:
            await self.send_html(event["html"] + self.lost(number, delivery))

    async def stream_ended(self, event: Message) -> None:
        """The stream's last word: forward it, then report what reached this page."""
        number = event["stream"]
        delivery = self.deliveries.pop(number, None)
        if delivery is None:
            await self.forward(event)
            return
        delivery.ended(event["seq"])
        await self.send_html(event["html"] + self.lost(number, delivery))
        assert self.room is not None
        with contextlib.suppress(*STORE_DOWN):  # Redis gone: the run goes without this report
            await live.areport_delivery(self.room, number, delivery.received, delivery.lost)

    @staticmethod
    def lost(number: int, delivery: Delivery) -> str:
        return fragments.lost(number, delivery.lost) if delivery.lost else ""

    # Channels calls the handler named after the event type, "." as "_": the source notes'
    # chat.message arrives at chat_message. Every one of these forwards the sender's render.
    stream_attempt = stream_started = stream_tick = stream_update
    stream_finished = stream_stopped = stream_failed = stream_ended
    chat_message = room_reset = room_thread_model = room_presence = forward
    run_recorded = run_compared = forward
    process_gauges = layer_down = forward

    async def send_html(self, html: str) -> None:
        """Send, unless the page has left too much unread: then close instead. Daphne
        would buffer for it without bound; closed, the socket gets 1 s for the closing
        handshake before autobahn aborts it, and its buffer goes."""
        if self.closing:
            return
        message: Message = {"type": "websocket.send", "text": html}
        if not self.unread.send(len(html)):
            self.closing = True
            log.warning(
                "closing a viewer of room %s at %s: it has not read the last %d characters",
                self.room,
                (self.scope.get("client") or ["?"])[0],
                self.unread.unread,
            )
            message = {"type": "websocket.close", "code": CLOSE_UNREAD}
        # Its page may close while events for it are queued; its disconnect comes next.
        with contextlib.suppress(*CLIENT_GONE):
            await self.send(message)


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
        self.loop_ended = asyncio.Event()  # set from the loop's thread, through the loop
        self.event_loop = asyncio.get_running_loop()
        try:
            await super().__call__(scope, receive, send)
        except asyncio.CancelledError:
            if self.stream is not None and self.stream.is_live:
                if producing.SHUTDOWN.is_set():
                    await self.end_with_the_server(self.stream.interval)
                else:
                    # Daphne cancels a consumer 10 s after its client left, but cancelling
                    # cannot stop a thread: flag the stream orphaned for the loop to show,
                    # stoppable by anyone.
                    await live.aflag_orphaned(self.stream.room, self.stream.number)
            raise

    async def end_with_the_server(self, interval: float) -> None:
        """The server is stopping and has cancelled this consumer, which no thread hears:
        the loop sees ``SHUTDOWN`` at its next tick, ends and writes its row. Wait for that
        while the event loop still runs, then tell the room the end again: asgiref cancels
        whatever send the loop's thread had in flight at the cancel, which may be that one."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.loop_ended.wait(), interval + 10)
        if self.stream is not None and not self.stream.is_live:
            event = events.stream_event(events.end_kind(self.stream), self.stream, time.time())
            with contextlib.suppress(*STORE_DOWN):
                await self.channel_layer.group_send(room_group(self.stream.room), event)

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
            self.stream = producing.claim(
                self.room, self.mode, run, self.scope["thread_model"], _source(self.scope)
            )
        except Refused as refused:
            if refused.stopped is not None:
                event = events.stream_event("stream.stopped", refused.stopped, time.time())
                self.group_send(event)
            self.reply({"type": "error", "message": refused.message})
            self.close(CLOSE_REFUSED)
            return
        try:
            self.run_stream(self.stream)
        finally:
            with contextlib.suppress(RuntimeError):  # the event loop is closed: no one waits
                self.event_loop.call_soon_threadsafe(self.loop_ended.set)

    def websocket_disconnect(self, message: Message) -> None:
        raise StopConsumer

    def run_stream(self, stream: Stream) -> None:
        ticker = Ticker(stream)
        try:
            self.publish("stream.started", stream)
            for seq in ticker.seqs:
                time.sleep(ticker.wait_before(seq))
                stop, orphaned = live.flags(stream.room, stream.number)
                stream = stream.heard(stop, orphaned, time.time(), producing.SHUTDOWN.is_set())
                if not stream.is_live:
                    break
                stream = ticker.tick(stream, seq)
                self.publish("stream.tick", stream)
            else:
                stream = stream.ended(State.DONE, time.time())
        except Exception as error:
            stream = _failed(stream, error)
        finally:
            producing.SLOTS.release()
        try:
            self.publish(events.end_kind(stream), stream)
        except STORE_DOWN as error:
            log.warning(
                "stream %s of room %s: its end not told: %r", stream.number, self.room, error
            )
        finally:
            # However it ended, and even if the room could not be told: a row.
            run = recording.save(stream, ticker.lateness.ordered)
            with self.client_may_be_gone():
                async_to_sync(recording.settle_later)(run)
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
        except asyncio.CancelledError:
            # Daphne cancels every application as it shuts down (SIGTERM), and waits for
            # it; it also cancels one whose client left 10 s ago and has not finished (its
            # disconnect queued behind the shared sync thread), once a second until it has.
            if producing.SHUTDOWN.is_set():
                self.stop_note = SERVER_STOPPED
            raise
        finally:
            # However the connection ends, its loop must not outlive it, and its end is told
            # and recorded before the consumer goes (or the process exits): shielded from
            # Daphne's repeated cancels.
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self.end_loop())
            if self.stream is not None:
                group = stream_group(self.stream.room, self.stream.number)
                with contextlib.suppress(*STORE_DOWN):
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
                self.room, self.mode, run, self.scope["thread_model"], _source(self.scope)
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
        await self.end_loop()
        raise StopConsumer

    async def end_loop(self) -> None:
        """Cancel the loop if it is still ticking, then let it announce its end and record
        its run, cancelled or not."""
        if self.ticking is not None:
            if self.looping:
                self.ticking.cancel()
            await asyncio.wait([self.ticking])

    async def run_stream(self, stream: Stream) -> None:
        ticker = Ticker(stream)
        self.looping = True
        try:
            await self.publish("stream.started", stream)
            for seq in ticker.seqs:
                await asyncio.sleep(ticker.wait_before(seq))
                stop, orphaned = await live.aflags(stream.room, stream.number)
                stream = stream.heard(stop, orphaned, time.time(), producing.SHUTDOWN.is_set())
                if not stream.is_live:
                    break
                stream = ticker.tick(stream, seq)
                await self.publish("stream.tick", stream)
            else:
                stream = stream.ended(State.DONE, time.time())
        except asyncio.CancelledError:
            # Cancelled by stream_stop, by websocket_disconnect (the client left), or by
            # the server shutting down: stop_note says which.
            stream = stream.ended(State.STOPPED, time.time(), self.stop_note)
        except Exception as error:
            stream = _failed(stream, error)
        finally:
            self.looping = False
            producing.SLOTS.release()
        try:
            await self.publish(events.end_kind(stream), stream)
        except STORE_DOWN as error:
            log.warning(
                "stream %s of room %s: its end not told: %r", stream.number, self.room, error
            )
        finally:
            # However it ended, and even if the room could not be told: a row.
            run = await recording.asave(stream, ticker.lateness.ordered)
            await recording.settle_later(run)
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
