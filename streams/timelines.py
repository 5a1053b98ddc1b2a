"""The timeline of each room this process's viewers watch, drawn once for all of them.

A ``Drawer`` per room and process is a member of the room's local fan-out (streams/
fanout.py), like a viewer: when a stream changes state it redraws the timeline from the
cache, and while any stream is live it redraws once a second, so running bars grow. Each
drawing is handed to the process's viewers of the room without the layer. Its cost is a
read and a render per room and second, whatever the ticks and the viewers.
"""

import asyncio
import contextlib
import logging
import time

from streams import events, fanout, live
from streams.rooms import room_group

log = logging.getLogger(__name__)

PERIOD = 1.0  # seconds at least between two drawings of a room: a frame a second a viewer
REDRAW_ON = frozenset(
    {"stream.waiting", "stream.started", "stream.finished", "stream.stopped", "stream.failed",
     "room.reset"}
)  # fmt: skip


class Drawer(fanout.Inbox):
    """One room's timeline in this process: it hears the room's events as a viewer does."""

    def __init__(self, room: str) -> None:
        super().__init__()
        self.room = room
        self.viewers = 0
        self.timer: asyncio.TimerHandle | None = None
        self.drawing: asyncio.Task[None] | None = None
        self.last = 0.0

    def deliver(self, event: fanout.Message) -> None:
        batch = event["events"] if event["type"] == "fanout.batch" else [event]
        if any(e["type"] in REDRAW_ON for e in batch):
            self.soon()

    def fail(self, error: BaseException) -> None:
        """The layer failed: the viewers reconnect, and the next one draws anew."""

    def soon(self) -> None:
        """Draw within ``PERIOD`` of the last drawing, once however often asked."""
        if self.timer is not None or self.viewers <= 0:
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, self.last + PERIOD - time.monotonic())
        self.timer = loop.call_later(delay, self._draw)

    def _draw(self) -> None:
        self.timer = None
        if self.drawing is None or self.drawing.done():
            self.drawing = asyncio.ensure_future(self.draw())

    async def draw(self) -> None:
        self.last = time.monotonic()
        try:
            streams = await live.astreams(self.room)
        except live.STORE_DOWN as error:
            log.warning("timeline of room %s not drawn: %r", self.room, error)
            return
        fanout.deliver_local(room_group(self.room), events.room_timeline(streams, time.time()))
        if any(s.is_live for s in streams):
            self.soon()


_DRAWERS: dict[tuple[asyncio.AbstractEventLoop, str], Drawer] = {}


async def watched(room: str) -> None:
    """A viewer of ``room`` joined in this process: its timeline is drawn here."""
    key = asyncio.get_running_loop(), room
    drawer = _DRAWERS.get(key)
    if drawer is None:
        drawer = _DRAWERS[key] = Drawer(room)
        drawer.viewers += 1
        await fanout.join(room_group(room), drawer)
        drawer.soon()  # a room with streams running: keep its bars growing from now
        return
    drawer.viewers += 1


async def unwatched(room: str) -> None:
    """A viewer of ``room`` left: the last one out stops the drawing."""
    key = asyncio.get_running_loop(), room
    drawer = _DRAWERS.get(key)
    if drawer is None:
        return
    drawer.viewers -= 1
    if drawer.viewers > 0:
        return
    del _DRAWERS[key]
    if drawer.timer is not None:
        drawer.timer.cancel()
    with contextlib.suppress(*live.STORE_DOWN):
        await fanout.leave(room_group(room), drawer)
