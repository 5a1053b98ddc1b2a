"""How many viewers a room has, pushed to the room live.

The count lives in the cache (streams/live.py): per process by default, across every
process sharing Redis when ``REDIS_URL`` is set. Joins and leaves only mark the room; a
timer sends the marked rooms' counts ``PERIOD`` later, so a burst of a thousand connects
costs a handful of broadcasts, not a thousand to each of a thousand viewers.
"""

import asyncio
import logging
from typing import Any

from channels.layers import get_channel_layer

from streams import events, fragments, live
from streams.rooms import room_group

log = logging.getLogger(__name__)
PERIOD = 0.5


class Presence:
    def __init__(self) -> None:
        self.changed: set[str] = set()
        self.timer: asyncio.TimerHandle | None = None
        self.timer_loop: asyncio.AbstractEventLoop | None = None
        self.sending: set[asyncio.Task[None]] = set()  # strong references until done

    def mark(self, room: str) -> None:
        """``room``'s count changed: broadcast it within ``PERIOD``."""
        self.changed.add(room)
        loop = asyncio.get_running_loop()
        if self.timer is None or self.timer_loop is not loop:
            self.timer, self.timer_loop = loop.call_later(PERIOD, self._due), loop
        # A timer is a plain callback: one left on a loop that closes (a test's) is dropped
        # silently, where a sleeping task would be reported destroyed.

    def _due(self) -> None:
        self.timer = None
        rooms, self.changed = self.changed, set()
        task = asyncio.ensure_future(self.broadcast(rooms))
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)

    async def broadcast(self, rooms: set[str]) -> None:
        layer: Any = get_channel_layer()
        try:
            for room in rooms:
                html = fragments.presence(await live.aviewers(room))
                event = events.room_event("room.presence", html)
                await layer.group_send(room_group(room), event)
        except live.STORE_DOWN as error:
            # Redis is gone; pages get the count with their snapshot when it returns.
            log.warning("viewer counts not sent: %r", error)


PRESENCE = Presence()
