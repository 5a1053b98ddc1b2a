"""Live gauges of this server process: event-loop lag, and the shared sync thread's wait.

A sampler runs while the process has viewers. Four times a second it measures how late
the event loop woke it, and how long a no-op ``sync_to_async(thread_sensitive=True)`` call
has been waiting for the shared sync thread (the wait every default consumer message pays
first). While a sync loop holds the thread, that wait grows for everyone to see.
"""

import asyncio
import os
import re
import socket
import time
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from streams import events, fragments

PERIOD = 0.25
# Per process: with Redis, a group spans processes, and each process has its own thread.
GROUP = "gauges." + re.sub(r"[^A-Za-z0-9_.-]", "-", f"{socket.gethostname()}.{os.getpid()}")[:80]


def _noop() -> None:
    return None


async def _thread_wait() -> float:
    """Seconds a no-op thread-sensitive call waited for, and ran on, the shared thread."""
    started = time.monotonic()
    await sync_to_async(_noop, thread_sensitive=True)()
    return time.monotonic() - started


class Sampler:
    """One per process; runs while at least one viewer of this process is connected."""

    def __init__(self) -> None:
        self.viewers = 0
        self.task: asyncio.Task[None] | None = None

    def joined(self) -> None:
        self.viewers += 1
        if (
            self.task is None
            or self.task.done()
            or self.task.get_loop() is not asyncio.get_running_loop()
        ):
            self.task = asyncio.create_task(self.run())

    def left(self) -> None:
        self.viewers -= 1
        if self.viewers <= 0 and self.task is not None:
            self.task.cancel()
            self.task = None

    async def run(self) -> None:
        layer: Any = get_channel_layer()
        probe: asyncio.Task[float] | None = None
        probe_started = wait = 0.0
        try:
            while True:
                asked = time.monotonic()
                await asyncio.sleep(PERIOD)
                now = time.monotonic()
                lag = max(0.0, now - asked - PERIOD)
                pending = False
                if probe is not None and probe.done():
                    wait, probe = probe.result(), None
                if probe is None:
                    probe, probe_started = asyncio.create_task(_thread_wait()), now
                elif now - probe_started > wait:
                    # Still queued behind something: the wait so far is the figure.
                    wait, pending = now - probe_started, True
                html = fragments.gauges(lag, wait, pending)
                await layer.group_send(GROUP, events.room_event("process.gauges", html))
        finally:
            if probe is not None:
                probe.cancel()


SAMPLER = Sampler()
