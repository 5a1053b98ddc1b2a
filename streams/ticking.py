"""One run's clock, as both producer twins keep it: when each tick is due, how late it
went out, and every lateness so far. The twins differ in how they wait, not in this. Each
tick is counted here too, with its lateness, for ``/metrics`` (streams/metrics.py)."""

import time

from streams import metrics
from streams.schedule import LatenessLog, TickSchedule
from streams.stream import Stream


class Ticker:
    def __init__(self, stream: Stream) -> None:
        # Paced on the monotonic clock; stamped on the wall clock for receivers elsewhere.
        self.schedule = TickSchedule(time.monotonic(), stream.interval, stream.count, time.time())
        self.lateness = LatenessLog()
        self.work = LatenessLog()  # how long each tick's work took, sorted

    @property
    def seqs(self) -> range:
        return self.schedule.seqs

    def wait_before(self, seq: int) -> float:
        return self.schedule.wait_before(seq, time.monotonic())

    def tick(self, stream: Stream, seq: int, work: float = 0.0) -> Stream:
        """``stream`` as tick ``seq`` goes out now, its work having taken ``work`` s."""
        lateness = self.schedule.lateness(seq, time.monotonic())
        self.lateness.add(lateness)
        self.work.add(work)
        labels = (str(stream.mode), str(stream.work))
        metrics.TICKS.labels(*labels).inc()
        metrics.LATENESS.labels(*labels).observe(lateness)
        summary = self.lateness.summary()
        assert summary is not None
        scheduled = self.schedule.scheduled_at(seq)
        return stream.ticked(seq, lateness, summary, scheduled, time.time(), work)
