"""The tick schedule, lateness and run statistics, as pure functions of plain values.

Nothing here sleeps, reads a clock or imports Django: callers pass ``now`` in, so the sync
and the async consumer share one schedule and it is tested without sleeping.
"""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class TickSchedule:
    """``count`` ticks, tick ``seq`` (1-based) due ``seq * interval`` after ``start``.

    Pacing to the due time, not sleeping ``interval`` after each send, keeps a slow send
    from pushing every later tick back: lateness is measured, never accumulated.
    """

    start: float
    interval: float
    count: int

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


@dataclass(frozen=True)
class LatenessSummary:
    p50: float
    p95: float
    max: float


def summarize(lateness: Sequence[float]) -> LatenessSummary | None:
    """p50, p95 and max of a run's lateness, in seconds; ``None`` for a run with no ticks."""
    if not lateness:
        return None
    if len(lateness) == 1:
        only = lateness[0]
        return LatenessSummary(p50=only, p95=only, max=only)
    cuts = statistics.quantiles(lateness, n=100, method="inclusive")
    return LatenessSummary(p50=cuts[49], p95=cuts[94], max=max(lateness))


def rate(ticks: int, elapsed: float) -> float:
    """Ticks per second over ``elapsed`` seconds; 0 before any time has passed."""
    return ticks / elapsed if elapsed > 0 else 0.0


def sparkline_points(values: Sequence[float], width: int, height: int, floor: float) -> str:
    """SVG polyline points for ``values``, scaled so that ``floor`` or the largest value
    (whichever is bigger) touches the top; higher on the chart means later."""
    if not values:
        return ""
    top = max(floor, *values)
    step = width / max(1, len(values) - 1)
    points = []
    for i, value in enumerate(values):
        y = height - (min(max(value, 0.0), top) / top) * height
        points.append(f"{i * step:.1f},{y:.1f}")
    return " ".join(points)
