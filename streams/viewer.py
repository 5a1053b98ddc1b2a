"""The page's one connection: ``RoomConsumer``, and ``NoRouteConsumer`` for any other path.

The one fact to know: **viewing never waits on the shared sync thread**. All sync consumers
of a process share one thread (https://github.com/django/channels/issues/2132), and since
Channels 4.2 ``AsyncConsumer.dispatch`` awaits ``aclose_old_connections()`` on that same
thread before every message. ``RoomConsumer`` skips that call (it never touches the ORM),
reads live state off-thread, and sits behind no middleware that uses the thread (with
logins on, ``LoginGate`` looks the user up in an executor: streams/logins.py), so the page
stays live and accepts new viewers whatever a sync stream does.
"""

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import astuple
from typing import Any

from asgiref.typing import ASGIReceiveCallable, ASGISendCallable, WebSocketScope
from autobahn.exception import Disconnected
from channels.consumer import AsyncConsumer, get_handler_name
from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer
from django.conf import settings

from streams import control, fanout, fragments, gauges, live, metrics, snapshots, timelines
from streams.accounts import Account, Report
from streams.close_codes import CLOSE_BAD_ROOM, CLOSE_FULL, CLOSE_TRY_AGAIN, CLOSE_UNREAD
from streams.frames import Ack, Refusal, parse_room_frame
from streams.limits import RateLimit, Unread, viewer_refusal
from streams.live import STORE_DOWN
from streams.presence import PRESENCE
from streams.rooms import room_from_scope, room_group
from streams.sweeping import SWEEPER

Message = dict[str, Any]
log = logging.getLogger(__name__)

# A send to a socket in its closing handshake: Daphne (autobahn) raises Disconnected, servers
# that follow the ASGI spec an OSError (https://asgi.readthedocs.io/en/latest/specs/www.html).
CLIENT_GONE = (Disconnected, OSError)
# A history row is a <tbody> fragment: parsed with anything after it in one frame, it is
# neither (the HTML parser drops a <tbody> outside a table), so it travels alone.
ALONE = frozenset({"run.recorded"})
UNAVAILABLE = "The channel layer is unavailable (Redis does not answer); try again when it is back."


class RoomConsumer(AsyncConsumer):
    """A page's one connection: takes the page's commands and forwards each room event's
    fragment, rendered once by whoever sent it. The events come from this process's one
    member of the room's group (streams/fanout.py), not from a layer channel per viewer.

    It also keeps this page's own account of every stream (streams/accounts.py): the
    sequence numbers it got, so it can show the ticks it missed, skip a stale tick, and
    report at each stream's end what reached it.

    Mounted without ``AuthMiddlewareStack``, which looks the user up on the shared thread;
    with DASHBOARD_LOGIN_REQUIRED, behind ``LoginGate``, which does not.
    """

    room: str | None = None
    gauging = False
    counted = False
    drawn = False
    closing = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unread = Unread(settings.DASHBOARD_MAX_UNREAD_CHARS)  # one per connection

    async def __call__(
        self, scope: WebSocketScope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        self.account = Account()  # what this page was sent of each stream
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
                metrics.VIEWERS.dec()
            if self.counted and self.room is not None:
                PRESENCE.left(self.room)  # written and sent with the next broadcast
            if self.drawn and self.room is not None:
                await timelines.unwatched(self.room)

    async def dispatch(self, message: Mapping[str, Any]) -> None:
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
        room = room_from_scope(self.scope)
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
            metrics.VIEWERS.inc()
            self.gauging = True
            PRESENCE.joined(room)
            self.counted = True
            await timelines.watched(room)
            self.drawn = True
            SWEEPER.start()
            # layer_back: a page loaded while Redis was gone carries the banner until now;
            # and a refusal from before this connection (streams/logins.py) is old news.
            await self.send_snapshot(room, layer_back=True)
        except STORE_DOWN:
            # Redis is gone: say so, and close with 4503, which the page retries a second
            # later (streams/close_codes.py), so it comes back by itself with Redis.
            await self.send_html(fragments.layer_down())
            await self.send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN})

    async def send_snapshot(self, room: str, layer_back: bool = False) -> None:
        """The room as it is now, and this page's tick counting starting from it: a viewer
        who joins mid-stream, or reconnects, sees the current counters at once, and counts
        ticks from there (the ones before are unseen, not lost)."""
        snapshot = await snapshots.take(room)
        self.account.snapshot(snapshot.streams)
        presence = fragments.presence(snapshot.others + PRESENCE.local[room])
        back = fragments.layer_back() + fragments.clear_error("room") if layer_back else ""
        await self.send_html(snapshot.html + presence + back)

    async def layer_back(self, event: Message) -> None:
        """The layer answers again: what this page missed meanwhile, as a fresh snapshot."""
        if self.room is not None:
            await self.send_snapshot(self.room, layer_back=True)

    async def websocket_receive(self, message: Message) -> None:
        if self.room is None:
            return
        try:
            command = parse_room_frame(message.get("text"), message.get("bytes"))
            if isinstance(command, Ack):  # flow control: no reply, or it would need an ack
                self.unread.ack(command.read)
                return
            effects = await control.apply(self.room, command, self.chat_allowance)
            self.requested.extend(effects.requested)
            for event in effects.events:
                await self.channel_layer.group_send(room_group(self.room), event)
            for group, notice in effects.notices.items():
                await self.channel_layer.group_send(group, notice)
        except Refusal as error:
            await self.send_html(fragments.error(error.panel, error.message))
            return
        except STORE_DOWN:
            await self.send_html(fragments.error(command.panel, UNAVAILABLE))
            return
        await self.send_html(fragments.clear_error(command.panel) + effects.reply)

    async def websocket_disconnect(self, message: Message) -> None:
        if self.room is not None:
            with contextlib.suppress(*STORE_DOWN):  # they stay waiting, then go stale
                for event in await control.abandon(self.room, self.requested):
                    await self.channel_layer.group_send(room_group(self.room), event)
        raise StopConsumer

    async def forward(self, event: Message) -> None:
        await self.send_events([event])

    async def fanout_batch(self, batch: Message) -> None:
        """Events that fell due within one flush window (streams/fanout.py): one frame."""
        await self.send_events(batch["events"])

    async def send_events(self, events: list[Message]) -> None:
        """What this page is sent of ``events``, in one frame (but a history row, in a frame
        of its own); then its delivery reports of the streams that ended."""
        parts: list[str] = []
        reports: list[Report] = []
        for event in events:
            html, report = self.account.fragment(event)
            if report is not None:
                reports.append(report)
            if event["type"] in ALONE:
                await self.send_html("".join(parts))
                await self.send_html(html)
                parts = []
            else:
                parts.append(html)
        await self.send_html("".join(parts))
        for report in reports:
            assert self.room is not None
            with contextlib.suppress(*STORE_DOWN):  # Redis gone: the run goes without it
                await live.areport_delivery(self.room, *astuple(report))

    # Channels calls the handler named after the event type, "." as "_" (streams/events.py):
    # chat.message arrives at chat_message. Every one of these forwards the sender's render,
    # as this page's account of the room has it (streams/accounts.py).
    stream_waiting = stream_attempt = stream_started = stream_tick = forward
    stream_finished = stream_stopped = stream_failed = forward
    chat_message = room_reset = room_thread_model = room_presence = room_timeline = forward
    run_recorded = run_compared = forward
    process_gauges = layer_down = forward

    async def send_html(self, html: str) -> None:
        """Send (nothing, if ``html`` is empty), unless the page has left too much unread:
        then close instead. Daphne
        would buffer for it without bound; closed, the socket gets 1 s for the closing
        handshake before autobahn aborts it, and its buffer goes."""
        if self.closing or not html:
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
            if not self.closing:
                metrics.VIEWER_FRAMES.inc()
                metrics.VIEWER_CHARACTERS.inc(len(html))


class NoRouteConsumer(AsyncConsumer):
    """Any other WebSocket path: a clean, final close rather than a routing traceback."""

    async def websocket_connect(self, message: Message) -> None:
        await self.send({"type": "websocket.accept"})
        await self.send({"type": "websocket.close", "code": CLOSE_BAD_ROOM})

    async def websocket_disconnect(self, message: Message) -> None:
        raise StopConsumer
