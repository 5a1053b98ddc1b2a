"""The tick schedule, lateness and run statistics, as pure functions of plain values.

Nothing here sleeps, reads a clock or imports Django: callers pass ``now`` in, so the sync
and the async consumer share one schedule and it is tested without sleeping.
"""

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TickSchedule:
    """``count`` ticks, tick ``seq`` (1-based) due ``seq * interval`` after ``start``.

    Pacing to the due time, not sleeping ``interval`` after each send, keeps a slow send
    from pushing every later tick back: lateness is measured, never accumulated.
    """

    start: float
    interval: float
    count: int
    wall_start: float = 0.0  # ``start`` on the wall clock, to stamp ticks for other hosts

    @property
    def seqs(self) -> range:
        return range(1, self.count + 1)

    def due(self, seq: int) -> float:
        return self.start + seq * self.interval

    def wait_before(self, seq: int, now: float) -> float:
        """How long to sleep before sending tick ``seq``: never negative."""
        return max(0.0, self.due(seq) - now)

    def lateness(self, seq: int, now: float) -> float:
        """How late tick ``seq`` is when sent at ``now``; early counts as on time."""
        return max(0.0, now - self.due(seq))

    def scheduled_at(self, seq: int) -> float:
        """When tick ``seq`` is due, on the wall clock: what a receiver measures against."""
        return self.wall_start + seq * self.interval


@dataclass(frozen=True)
class LatenessSummary:
    p50: float
    p95: float
    max: float


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The ``fraction`` percentile (0..1) of ``ordered`` (sorted, not empty), interpolated
    between the closest ranks: what ``statistics.quantiles(method="inclusive")`` cuts."""
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(lateness: Sequence[float]) -> LatenessSummary | None:
    """p50, p95 and max of a run's lateness, in seconds; ``None`` for a run with no ticks."""
    if not lateness:
        return None
    return summarize_sorted(sorted(lateness))


def summarize_sorted(ordered: Sequence[float]) -> LatenessSummary | None:
    """``summarize`` of lateness already in ascending order: no sort."""
    if not ordered:
        return None
    return LatenessSummary(
        p50=percentile(ordered, 0.50), p95=percentile(ordered, 0.95), max=ordered[-1]
    )


@dataclass
class LatenessLog:
    """Every tick's lateness in a run, kept sorted so the live p95 costs no sort per tick."""

    ordered: list[float] = field(default_factory=list)

    def add(self, lateness: float) -> None:
        bisect.insort(self.ordered, lateness)

    def summary(self) -> LatenessSummary | None:
        return summarize_sorted(self.ordered)
