"""Fan-out: one setup, growing N, one load process per point, until a point fails.

A point passes with every viewer connected, no tick lost and p99 lateness within 100 ms
(``stats.good``); the sweep stops at the first point that does not, since a larger N only
does worse and takes longer. A setup that fails the smallest N is tried at half of it, and
half again, down to ``FLOOR``.
"""

import contextlib
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench import stats
from bench.servers import Served, Setup, redis, serving, wait_idle
from tests.servers import ROOT

FLOOR = 25  # the fewest viewers a sweep goes down to


@dataclass
class Point:
    setup: str
    viewers: int
    passed: bool
    result: dict[str, Any]  # the load process's JSON (bench/load.py: Result)


def run_load(url: str, viewers: int, count: int, interval: float) -> dict[str, Any]:
    """One load process against ``url``; its JSON result."""
    argv = [
        sys.executable,
        "-m",
        "bench.load",
        "--url",
        url,
        "--viewers",
        str(viewers),
        "--count",
        str(count),
        "--interval",
        str(interval),
    ]
    done = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=count * interval + 180
    )
    if done.returncode != 0:
        raise RuntimeError(f"load process failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def judge(result: dict[str, Any]) -> bool:
    lateness = result["lateness"]
    p99 = lateness["p99"] if lateness else None
    return stats.good(p99, result["lost"], result["failed"])


@dataclass(frozen=True)
class Sweep:
    """What every setup is put through: each N of ``viewers`` in turn, one stream of
    ``count`` ticks every ``interval`` s per point, each point passed to ``show``."""

    viewers: Sequence[int]
    count: int
    interval: float
    show: Callable[[Point], None]


def sweep(setup: Setup, served: Served, plan: Sweep) -> list[Point]:
    points: list[Point] = []

    def measure(n: int) -> bool:
        wait_idle(served.pid)
        result = run_load(served.url, n, plan.count, plan.interval)
        point = Point(setup.label, n, judge(result), result)
        points.append(point)
        plan.show(point)
        return point.passed

    for n in plan.viewers:
        if not measure(n):
            break
    # Failed even the smallest N: halve it down to FLOOR, so its largest N is still known.
    n = min(plan.viewers)
    while not any(p.passed for p in points) and n // 2 >= FLOOR:
        n //= 2
        measure(n)
    return sorted(points, key=lambda p: p.viewers)


def run_all(setups: Sequence[Setup], plan: Sweep) -> list[Point]:
    """Every setup in turn, each on a fresh server (and one throwaway Redis for all)."""
    points: list[Point] = []
    with redis_if_needed(setups) as redis_url:
        for setup in setups:
            with serving(setup, redis_url) as served:
                points += sweep(setup, served, plan)
    return points


def redis_if_needed(setups: Sequence[Setup]) -> Any:
    return redis() if any(s.needs_redis for s in setups) else contextlib.nullcontext()
