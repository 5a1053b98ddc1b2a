"""Finished runs, kept in the database for the history table.

A row is written as its stream ends, whichever way it ends. Its delivery figures follow a
moment later (streams/settling.py), once the room's viewers have reported what reached them.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

from django.db import models

from streams.choices import Mode, Outcome, ThreadModel, Work
from streams.schedule import summarize
from streams.stream import Stream


def _when(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, tz=UTC)


class StreamRun(models.Model):
    room = models.CharField(max_length=64)
    number = models.PositiveIntegerField()
    mode = models.CharField(max_length=8, choices=Mode.choices)
    thread_model = models.CharField(
        max_length=16, choices=ThreadModel.choices, blank=True, help_text="Blank: never started."
    )
    count = models.PositiveIntegerField(help_text="Ticks asked for.")
    interval = models.FloatField(help_text="Seconds between ticks.")
    ticks_sent = models.PositiveIntegerField(help_text="Ticks the producer sent.")
    ticks_delivered = models.PositiveIntegerField(
        null=True, help_text="Ticks handed to viewers' sockets, summed over the viewers."
    )
    ticks_lost = models.PositiveIntegerField(
        null=True, help_text="Sequence gaps the viewers saw, summed over the viewers."
    )
    viewers = models.PositiveIntegerField(
        null=True, help_text="Viewers watching when it ended, who reported delivery."
    )
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    work = models.CharField(
        max_length=8, choices=Work.choices, default=Work.SLEEP, help_text="Done each tick."
    )
    cost = models.PositiveIntegerField(default=0, help_text="Ms of work per tick, if costed.")
    work_p50 = models.FloatField(null=True, help_text="Seconds a tick's work took, median.")
    work_max = models.FloatField(null=True)
    loop_lag_max = models.FloatField(
        null=True, help_text="The worst event-loop lag of its process while it ran."
    )
    thread_wait_max = models.FloatField(
        null=True, help_text="The longest wait for its process's shared sync thread meanwhile."
    )
    note = models.CharField(max_length=200, blank=True)
    source = models.CharField(
        max_length=120, blank=True, help_text="Where it was started, when not from a page."
    )
    requested_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True)
    ended_at = models.DateTimeField(null=True)
    waited = models.FloatField(null=True, help_text="Seconds from request to first tick's clock.")
    duration = models.FloatField(help_text="Seconds from start to end.")
    lateness_p50 = models.FloatField(null=True)
    lateness_p95 = models.FloatField(null=True)
    lateness_max = models.FloatField(null=True)

    class Meta:
        ordering = ["-ended_at", "-id"]
        indexes = [models.Index(fields=["room", "-ended_at"])]

    def __str__(self) -> str:
        return f"{self.mode} stream {self.number} in {self.room}: {self.outcome}"

    @classmethod
    def from_stream(
        cls,
        stream: Stream,
        lateness: Sequence[float],
        work: Sequence[float] = (),
        peaks: tuple[float, float] | None = None,
    ) -> "StreamRun":
        """An unsaved run for a stream that has ended, with ``lateness`` and ``work`` time of
        every tick, and the ``peaks`` of its process's gauges while it ran."""
        if stream.outcome is None:
            raise ValueError(f"stream {stream.number} has not ended")
        summary = summarize(lateness)
        took = summarize(work)
        return cls(
            room=stream.room,
            number=stream.number,
            mode=stream.mode.value,
            thread_model=(stream.thread_model.value if stream.thread_model else ""),
            count=stream.count,
            interval=stream.interval,
            ticks_sent=stream.seq,
            outcome=stream.outcome.value,
            note=stream.note[:200],
            source=stream.source[:120],
            requested_at=datetime.fromtimestamp(stream.created_at, tz=UTC),
            started_at=_when(stream.started_at),
            ended_at=_when(stream.ended_at),
            waited=stream.waited,
            duration=stream.elapsed(stream.ended_at or 0.0),
            lateness_p50=summary.p50 if summary else None,
            lateness_p95=summary.p95 if summary else None,
            lateness_max=summary.max if summary else None,
            work=stream.work.value,
            cost=stream.cost,
            work_p50=took.p50 if took else None,
            work_max=took.max if took else None,
            loop_lag_max=peaks[0] if peaks else None,
            thread_wait_max=peaks[1] if peaks else None,
        )
