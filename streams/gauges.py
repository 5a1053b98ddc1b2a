"""Live gauges of this server process: event-loop lag, and the shared sync thread's wait.

A sampler runs while the process has viewers or producers. Every ``PERIOD`` (20 ms) it
measures how late the event loop fired its timer, and five times a second how long a no-op
``sync_to_async(thread_sensitive=True)`` call has been waiting for the shared sync thread
(the wait every default consumer message pays first). While a sync loop holds the thread,
that wait grows for everyone to see. Once a second it pushes the worst lag and the longest
wait seen since the last push to this process's viewers, with a sparkline of the last
minute; it keeps an hour of them, and what it has seen since, for the peaks each run
records. The same figures go to ``/metrics`` (streams/metrics.py); once that has been
scraped, the sampler runs for good, so Prometheus gets measured gauges, and the layer's
health checked, with no one connected.
"""

import asyncio
import contextvars
import logging
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from streams import events, fanout, live, metrics
from streams.process import PROCESS

log = logging.getLogger(__name__)

PERIOD = 0.02  # short: a timer due during a block fires when it ends, late by nearly all of it
PROBE_EVERY = 5  # samples between two probes of the shared thread: five a second
LAYER_TIMEOUT = 2.0  # a group send slower than this counts as the layer being down
PUSH_EVERY = 50  # samples per push: a push a second, a frame a second for an idle viewer
PUSH = PERIOD * PUSH_EVERY
HISTORY = 3600  # pushes kept: an hour
# Per process: with Redis, a group spans processes, and each process has its own thread.
GROUP = "gauges." + re.sub(r"[^A-Za-z0-9_.-]", "-", PROCESS)[:80]


def _noop() -> None:
    return None


async def _thread_wait() -> float:
    """Seconds a no-op thread-sensitive call waited for, and ran on, the shared thread."""
    started = time.monotonic()
    await sync_to_async(_noop, thread_sensitive=True)()
    return time.monotonic() - started


@dataclass
class History:
    """The gauges' figures, one (time, worst lag, wait) per push: the last minute for the
    sparkline beside them, the last hour for the peaks a run records (recording.py)."""

    points: deque[tuple[float, float, float]] = field(default_factory=lambda: deque(maxlen=HISTORY))

    def add(self, at: float, lag: float, wait: float) -> None:
        self.points.append((at, lag, wait))

    def last_minute(self, now: float) -> list[tuple[float, float, float]]:
        return [p for p in self.points if p[0] > now - 60]

    def peaks(self, since: float, until: float) -> tuple[float, float] | None:
        """(worst event-loop lag, longest shared-thread wait) pushed between ``since`` and
        ``until`` (wall clock, the pushes of a second late included); None if none was."""
        # A copy first: a run's row is saved off the event loop (recording.asave), while the
        # sampler appends on it, and iterating a deque that grows raises RuntimeError.
        points = tuple(self.points)
        seen = [(lag, wait) for at, lag, wait in points if since <= at <= until + PUSH]
        if not seen:
            return None
        return max(lag for lag, _ in seen), max(wait for _, wait in seen)


class Sampler:
    """One per process; runs while this process has a viewer or a producer connected, and
    for good once ``/metrics`` has been scraped."""

    def __init__(self) -> None:
        self.viewers = 0
        self.producers = 0
        self.scraped = False
        self.task: asyncio.Task[None] | None = None
        self.layer_down = False
        self.history = History()
        self.unpushed = (0.0, 0.0)  # worst lag and longest wait since the last push

    def peaks(self, since: float, until: float) -> tuple[float, float] | None:
        """(worst event-loop lag, longest shared-thread wait) between ``since`` and ``until``
        (wall clock): what was pushed, and what was seen since the last push, which a run
        that ends during a block would otherwise miss: the push telling it comes later."""
        pushed = self.history.peaks(since, until)
        if self.task is None or self.task.done():
            return pushed
        lag, wait = self.unpushed
        if pushed is None:
            return lag, wait
        return max(pushed[0], lag), max(pushed[1], wait)

    def joined(self, producer: bool = False) -> None:
        if producer:
            self.producers += 1
        else:
            self.viewers += 1
        self._running()

    def left(self, producer: bool = False) -> None:
        if producer:
            self.producers -= 1
        else:
            self.viewers -= 1
        if self.viewers + self.producers <= 0 and not self.scraped and self.task is not None:
            self.task.cancel()
            self.task = None

    def scrape(self) -> None:
        """``/metrics`` was asked for: sample from now on, whoever is connected."""
        self.scraped = True
        self._running()

    def _running(self) -> None:
        if (
            self.task is None
            or self.task.done()
            or self.task.get_loop() is not asyncio.get_running_loop()
        ):
            # In a context of its own: started by a /metrics request, it would inherit the
            # request's ThreadSensitiveContext (Django enters one per request) and probe that
            # request's thread instead of the shared one, never seeing a sync loop.
            self.task = asyncio.create_task(self.run(), context=contextvars.Context())

    async def run(self) -> None:
        layer: Any = get_channel_layer()
        probe: asyncio.Task[float] | None = None
        probe_started = wait = worst_lag = worst_wait = 0.0
        samples = 0
        self.unpushed = (0.0, 0.0)
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
                if probe is None and samples % PROBE_EVERY == 0:
                    probe, probe_started = asyncio.create_task(_thread_wait()), now
                elif probe is not None and now - probe_started > wait:
                    # Still queued behind something: the wait so far is the figure.
                    wait, pending = now - probe_started, True
                # The longest, not the last: a probe that waited out a whole loop reports
                # it when the loop ends, and is replaced by a quick one within 0.1 s.
                worst_wait = max(worst_wait, wait)
                self.unpushed = (worst_lag, worst_wait)
                if samples % PUSH_EVERY == 0:
                    self.history.add(time.time(), worst_lag, worst_wait)
                    metrics.EVENT_LOOP_LAG.set(worst_lag)
                    metrics.THREAD_WAIT.set(worst_wait)
                    recent = self.history.last_minute(time.time())
                    event = events.process_gauges(PROCESS, worst_lag, worst_wait, pending, recent)
                    await self.push(layer, event)
                    worst_lag = worst_wait = 0.0
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
                metrics.REDIS_OUTAGES.inc()
                metrics.LAYER_UP.set(0)
            self.layer_down = True
            fanout.deliver_local(GROUP, event)
            fanout.deliver_local(GROUP, events.layer_down())
            return
        if self.layer_down:
            log.warning("channel layer back")
            self.layer_down = False
            metrics.LAYER_UP.set(1)
            fanout.deliver_local(GROUP, events.layer_back())


SAMPLER = Sampler()
