"""Every server process, on a timer: it says it is alive, and ends the streams of processes
that are not.

A stream names the process that answers for it (``Stream.process``). A process killed
(SIGKILL, a crash, its machine gone) never says its streams ended; its beat lapses instead,
``DASHBOARD_PRESENCE_LEASE`` seconds after its last, and the next sweep of the room by any
live process ends them as *failed*, each told to the room and recorded once. Each process
beats and sweeps the rooms it has viewers in every third of the lease, so a dead process's
streams end within a lease and a third of its death, however quiet the room; a viewer
joining a room sweeps it at once (``producing.room_now``).
"""

import asyncio
import logging
import time
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings

from streams import events, live, producing, recording, settling
from streams.presence import PRESENCE
from streams.process import PROCESS, off_thread
from streams.rooms import room_group
from streams.stream import Stream

log = logging.getLogger(__name__)


def beat() -> None:
    """This process is alive for a lease more."""
    live.beat(PROCESS, settings.DASHBOARD_PRESENCE_LEASE)


abeat = off_thread(beat)


async def sweep(room: str) -> None:
    """End ``room``'s streams whose process is gone: the room is told, the runs recorded."""
    await announce(room, await producing.aend_abandoned(room, time.time()))


async def announce(room: str, ended: list[Stream]) -> None:
    """Tell the room of streams a sweep ended, and record their runs."""
    layer: Any = get_channel_layer()
    for stream in ended:
        event = events.stream_event("stream.failed", stream, time.time())
        await layer.group_send(room_group(room), event)
        await settling.settle_later(await recording.asave_lost(stream))


class Sweeper:
    """One per process: beats, and sweeps the rooms this process has viewers in, on a
    timer of the running event loop, started by the first connection of any kind."""

    def __init__(self) -> None:
        self.timer: asyncio.TimerHandle | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.running: set[asyncio.Task[None]] = set()  # strong references until done

    def start(self) -> None:
        """Beat and sweep on this event loop from now on; at once the first time."""
        loop = asyncio.get_running_loop()
        if self.timer is not None and self.loop is loop:
            return
        self.loop = loop
        self._due()
        # A timer, not a sleeping task: one left on a loop that closes (a test's) is
        # dropped silently, where a pending task would be reported destroyed.

    def _due(self) -> None:
        assert self.loop is not None
        self.timer = self.loop.call_later(settings.DASHBOARD_PRESENCE_LEASE / 3, self._due)
        task = self.loop.create_task(self._round(list(PRESENCE.local)))
        self.running.add(task)
        task.add_done_callback(self.running.discard)

    async def _round(self, rooms: list[str]) -> None:
        try:
            await abeat()
            for room in rooms:
                await sweep(room)
        except live.STORE_DOWN as error:
            # Redis is gone: nothing can be beaten or swept until it is back.
            log.warning("sweep skipped: %r", error)
        except Exception:
            log.exception("sweep failed")


SWEEPER = Sweeper()
