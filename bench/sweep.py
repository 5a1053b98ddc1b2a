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


@dataclass(frozen=True)
class Room:
    """What ticks in the room of a point: ``async_streams`` and ``sync_streams`` at once,
    the sync ones with a thread per connection where the app has that switch."""

    name: str
    async_streams: int = 1
    sync_streams: int = 0

    def args(self, setup: Setup) -> list[str]:
        argv = [
            "--async-streams",
            str(self.async_streams),
            "--sync-streams",
            str(self.sync_streams),
        ]
        return argv + (["--per-connection"] if self.sync_streams and setup.app == "product" else [])


ONE = Room("one stream")
EIGHT = Room("eight streams", async_streams=4, sync_streams=4)  # the dashboard in use


@dataclass
class Point:
    setup: str
    viewers: int
    passed: bool
    result: dict[str, Any]  # the load process's JSON (bench/load.py: Result)
    room: str = ONE.name


def run_load(
    url: str, viewers: int, count: int, interval: float, more: Sequence[str] = ()
) -> dict[str, Any]:
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
        *more,
    ]
    done = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=count * interval + 180
    )
    if done.returncode != 0:
        raise RuntimeError(f"load process failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_idle(setup: Setup, viewers: int = 20, seconds: float = 10.0) -> dict[str, Any]:
    """What ``setup`` sends a viewer of a room where nothing runs: frames and bytes a second."""
    with redis_if_needed([setup]) as redis_url, serving(setup, redis_url) as served:
        return run_load(served.url, viewers, 1, 0.1, ["--idle", str(seconds)])


def judge(result: dict[str, Any]) -> bool:
    lateness = result["lateness"]
    p99 = lateness["p99"] if lateness else None
    return stats.good(p99, result["lost"], result["failed"]) and not result.get("producers_dropped")


@dataclass(frozen=True)
class Sweep:
    """What every setup is put through: each N of ``viewers`` in turn, one stream of
    ``count`` ticks every ``interval`` s per point, each point passed to ``show``."""

    viewers: Sequence[int]
    count: int
    interval: float
    show: Callable[[Point], None]
    room: Room = ONE


def sweep(setup: Setup, served: Served, plan: Sweep) -> list[Point]:
    points: list[Point] = []

    def measure(n: int) -> bool:
        wait_idle(served.pid)
        result = run_load(served.url, n, plan.count, plan.interval, plan.room.args(setup))
        label = setup.label if plan.room is ONE else f"{setup.label} · {plan.room.name}"
        point = Point(label, n, judge(result), result, plan.room.name)
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
