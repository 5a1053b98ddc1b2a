"""Live gauges of this server process: event-loop lag, and the shared sync thread's wait.

A sampler runs while the process has viewers. Every ``PERIOD`` (100 ms) it measures how
late the event loop fired its timer, and how long a no-op
``sync_to_async(thread_sensitive=True)`` call has been waiting for the shared sync thread
(the wait every default consumer message pays first). While a sync loop holds the thread,
that wait grows for everyone to see. Every ``PUSH_EVERY`` samples it pushes the worst lag
seen since the last push and the current wait to this process's viewers.
"""

import asyncio
import logging
import re
import time
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from streams import events, fanout, live
from streams.process import PROCESS

log = logging.getLogger(__name__)

PERIOD = 0.1
LAYER_TIMEOUT = 2.0  # a group send slower than this counts as the layer being down
PUSH_EVERY = 3  # samples per push: about three pushes a second
# Per process: with Redis, a group spans processes, and each process has its own thread.
GROUP = "gauges." + re.sub(r"[^A-Za-z0-9_.-]", "-", PROCESS)[:80]


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
        self.layer_down = False

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
        probe_started = wait = worst_lag = 0.0
        samples = 0
        try:
            while True:
                asked = time.monotonic()
                await asyncio.sleep(PERIOD)
                now = time.monotonic()
                worst_lag = max(worst_lag, now - asked - PERIOD)
                samples += 1
                pending = False
                if probe is not None and probe.done():
                    wait, probe = probe.result(), None
                if probe is None:
                    probe, probe_started = asyncio.create_task(_thread_wait()), now
                elif now - probe_started > wait:
                    # Still queued behind something: the wait so far is the figure.
                    wait, pending = now - probe_started, True
                if samples % PUSH_EVERY == 0:
                    event = events.process_gauges(PROCESS, worst_lag, wait, pending)
                    await self.push(layer, event)
                    worst_lag = 0.0
        finally:
            if probe is not None:
                probe.cancel()

    async def push(self, layer: Any, event: dict[str, Any]) -> None:
        """Send the gauges through the layer, which doubles as its health check: while the
        layer fails, this process's viewers get the gauges and a banner directly, and once it
        answers again, word to take a fresh snapshot."""
        try:
            await asyncio.wait_for(layer.group_send(GROUP, event), LAYER_TIMEOUT)
        except live.STORE_DOWN as error:
            if not self.layer_down:
                log.warning("channel layer unavailable: %s", error or type(error).__name__)
            self.layer_down = True
            fanout.deliver_local(GROUP, event)
            fanout.deliver_local(GROUP, events.layer_down())
            return
        if self.layer_down:
            log.warning("channel layer back")
            self.layer_down = False
            fanout.deliver_local(GROUP, events.layer_back())


SAMPLER = Sampler()
