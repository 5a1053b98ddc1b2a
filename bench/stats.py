"""Pure statistics of a fan-out run: percentiles, lost ticks, the largest good N.

Plain values in, plain values out: no clock, no socket. Unit-tested in
tests/unit/test_bench_stats.py.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# "Largest N": the most viewers with p99 lateness at most this, and no tick lost.
P99_LIMIT = 0.100


@dataclass(frozen=True)
class Lateness:
    """Seconds a fragment reached a viewer after its tick was due."""

    count: int
    p50: float
    p99: float
    max: float


def nearest_rank(ordered: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``ordered`` (sorted ascending): the smallest value
    with at least ``fraction`` of the values at or below it. Never interpolates, so p99 of
    1,000 values is the 990th: an observed value, not a blend of two."""
    if not ordered:
        raise ValueError("no values")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    rank = math.ceil(fraction * len(ordered))
    return ordered[rank - 1]


def lateness(values: Iterable[float]) -> Lateness | None:
    """p50, p99 and max of ``values``; ``None`` when there are none."""
    ordered = sorted(values)
    if not ordered:
        return None
    return Lateness(
        count=len(ordered),
        p50=nearest_rank(ordered, 0.50),
        p99=nearest_rank(ordered, 0.99),
        max=ordered[-1],
    )


def missing(seen: Iterable[int], sent: int) -> int:
    """Ticks 1..``sent`` absent from ``seen``: the sequence gaps of one viewer, a tail never
    received included. Duplicates and numbers outside 1..sent do not count."""
    return sent - len({seq for seq in seen if 1 <= seq <= sent})


def good(p99: float | None, lost: int, failed: int = 0, limit: float = P99_LIMIT) -> bool:
    """A point passes: every viewer connected, nothing lost, p99 within ``limit``."""
    return p99 is not None and p99 <= limit and lost == 0 and failed == 0


def largest_good(points: Iterable[tuple[int, bool]]) -> int | None:
    """The largest N of the passing points of a sweep, counting only the run of passes from
    the smallest N up: a pass after a failure is luck, not capacity."""
    best = None
    for viewers, passed in sorted(points):
        if not passed:
            break
        best = viewers
    return best
