"""Finished runs, kept in the database for the history table.

A row is written as its stream ends, whichever way it ends. Its delivery figures follow a
moment later (streams/settling.py), once the room's viewers have reported what reached them.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

from django.db import models

from streams.choices import Mode, Outcome, ThreadModel
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
    def from_stream(cls, stream: Stream, lateness: Sequence[float]) -> "StreamRun":
        """An unsaved run for a stream that has ended, with ``lateness`` of every tick."""
        if stream.outcome is None:
            raise ValueError(f"stream {stream.number} has not ended")
        summary = summarize(lateness)
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
        )
