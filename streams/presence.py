"""How many viewers a room has, pushed to the room live.

This process counts its own viewers of each room and keeps that count in the cache under a
lease (streams/headcount.py), renewed every third of it while it has viewers there: the
count covers every process sharing Redis when ``REDIS_URL`` is set, and a process that dies
drops out of it when its lease lapses. Joins and leaves only mark the room; a timer writes
and sends the marked rooms' counts ``PERIOD`` later, so a burst of a thousand connects costs a
handful of broadcasts, not a thousand to each of a thousand viewers; and a count that has
not changed since this process last sent it is not sent again.
"""

import asyncio
import logging
import time
from collections import Counter
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings

from streams import events, live
from streams.process import PROCESS
from streams.rooms import room_group

log = logging.getLogger(__name__)
PERIOD = 0.5


class Presence:
    def __init__(self) -> None:
        self.local: Counter[str] = Counter()  # this process's viewers, per room
        self.changed: set[str] = set()
        self.timer: asyncio.TimerHandle | None = None
        self.timer_loop: asyncio.AbstractEventLoop | None = None
        self.renewal: asyncio.TimerHandle | None = None
        self.renewal_loop: asyncio.AbstractEventLoop | None = None
        self.sending: set[asyncio.Task[None]] = set()  # strong references until done
        self.shown: dict[str, int] = {}  # the count last broadcast for each room, by this one

    def joined(self, room: str) -> None:
        self.local[room] += 1
        self.mark(room)

    def left(self, room: str) -> None:
        self.local[room] -= 1
        if self.local[room] <= 0:
            del self.local[room]
        self.mark(room)

    async def count(self, room: str) -> int:
        """Write this process's count of ``room``'s viewers; the room's, over every process."""
        lease = settings.DASHBOARD_PRESENCE_LEASE
        return await live.aset_viewers(room, PROCESS, self.local[room], time.time(), lease)

    def withdraw(self) -> None:
        """The process is stopping: its counts go now, rather than lapsing after a lease
        (a blocking cache call, once, as the server shuts down)."""
        try:
            live.withdraw_viewers(list(self.local), PROCESS)
        except live.STORE_DOWN as error:
            log.warning("viewer counts not withdrawn: %r", error)

    def mark(self, room: str) -> None:
        """``room``'s count changed, or is due for renewal: write and broadcast it within
        ``PERIOD``."""
        self.changed.add(room)
        loop = asyncio.get_running_loop()
        if self.timer is None or self.timer_loop is not loop:
            self.timer, self.timer_loop = loop.call_later(PERIOD, self._due), loop
        if self.renewal is None or self.renewal_loop is not loop:
            every = settings.DASHBOARD_PRESENCE_LEASE / 3
            self.renewal, self.renewal_loop = loop.call_later(every, self._renew), loop
        # Timers are plain callbacks: one left on a loop that closes (a test's) is dropped
        # silently, where a sleeping task would be reported destroyed.

    def _renew(self) -> None:
        """Renew this process's lease on every room it has viewers in; the broadcast also
        shows a count that fell because another process's lease lapsed."""
        self.renewal = None
        for room in list(self.local):
            self.mark(room)

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
                viewers = await self.count(room)  # the lease is renewed either way
                if self.local[room] <= 0:
                    self.shown.pop(room, None)  # no viewer here to show it to
                if self.shown.get(room) == viewers:
                    continue  # unchanged: every frame a viewer gets costs as much as a tick
                await layer.group_send(room_group(room), events.room_presence(viewers))
                if self.local[room] > 0:
                    self.shown[room] = viewers
        except live.STORE_DOWN as error:
            # Redis is gone; pages get the count with their snapshot when it returns.
            log.warning("viewer counts not sent: %r", error)


PRESENCE = Presence()
