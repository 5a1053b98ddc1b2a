"""Fan-out and concurrency, against the naive consumer and the raw limit, in one run.

    python -m bench            # quick, about a minute (make bench)
    python -m bench --full     # every setup and N, bounded to ~20 min (make bench-full)

Prints the tables, writes JSON and a PNG of p99 lateness against viewers. Figures are
printed, never asserted: the machine is shared, so repeat a run that matters.
"""

import argparse
import signal
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import burst, concurrency, report, sweep
from bench.servers import Setup
from tests.servers import ROOT


@dataclass(frozen=True)
class Plan:
    setups: tuple[Setup, ...]
    viewers: tuple[int, ...]
    room_setups: tuple[Setup, ...]  # the eight-stream room (sweep.EIGHT)
    room_viewers: tuple[int, ...]
    count: int  # ticks per fan-out point
    ks: tuple[int, ...]  # streams at once, for the concurrency table
    burst_setups: tuple[Setup, ...]  # viewers connecting at once, against the ceilings
    burst: int
    burst_repeats: int
    json: str
    plot: str


QUICK = Plan(
    setups=(
        Setup("product", "daphne", "memory"),
        Setup("ceiling", "daphne"),
        Setup("naive", "daphne", "memory"),
        Setup("raw", "websockets"),
    ),
    viewers=(100, 1000),
    room_setups=(
        Setup("product", "daphne", "memory"),
        Setup("ceiling", "daphne"),
        Setup("raw", "websockets"),
    ),
    room_viewers=(100, 400),
    count=30,
    ks=(1, 4),
    burst_setups=(
        Setup("product", "daphne", "memory"),
        Setup("ceiling", "daphne"),
        Setup("raw", "websockets"),
    ),
    burst=1000,
    burst_repeats=1,
    json=".bench/quick.json",
    plot=".bench/quick.png",
)
FULL = Plan(
    setups=(
        Setup("product", "daphne", "memory"),
        Setup("product", "daphne", "pubsub"),
        Setup("ceiling", "daphne"),
        Setup("product", "daphne-uvloop", "memory"),
        Setup("ceiling", "daphne-uvloop"),
        Setup("product", "uvicorn", "memory"),
        Setup("product", "uvicorn", "pubsub"),
        Setup("ceiling", "uvicorn"),
        Setup("product", "granian", "memory"),
        Setup("ceiling", "granian"),
        Setup("naive", "daphne", "memory"),
        Setup("raw", "websockets"),
    ),
    viewers=(100, 250, 500, 1000, 1500, 2000, 3000, 4000),
    room_setups=(
        Setup("product", "daphne", "memory"),
        Setup("ceiling", "daphne"),
        Setup("product", "uvicorn", "memory"),
        Setup("ceiling", "uvicorn"),
        Setup("product", "granian", "memory"),
        Setup("ceiling", "granian"),
        Setup("raw", "websockets"),
    ),
    room_viewers=(50, 100, 200, 300, 400, 600, 800, 1000),
    count=60,
    ks=(1, 2, 4, 8),
    burst_setups=(
        Setup("product", "daphne", "memory"),
        Setup("product", "daphne", "pubsub"),
        Setup("ceiling", "daphne"),
        Setup("product", "uvicorn", "memory"),
        Setup("ceiling", "uvicorn"),
        Setup("raw", "websockets"),
    ),
    burst=1000,
    burst_repeats=2,
    json="docs/bench/full.json",
    plot="docs/bench/fanout.png",
)
INTERVAL = 0.1


def setup_from(text: str) -> Setup:
    """``product:daphne:memory``, ``naive:uvicorn:pubsub``, ``ceiling:daphne``, ``raw`` or
    ``raw:websockets-gc``."""
    parts = text.split(":")
    if parts[0] == "ceiling" and len(parts) == 2:
        return Setup("ceiling", parts[1])
    if parts[0] == "raw" and len(parts) <= 2:
        return Setup("raw", parts[1] if len(parts) == 2 else "websockets")
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"app:server:layer or raw, not {text!r}")
    return Setup(*parts)


def workload_from(text: str) -> tuple[str, str, int]:
    """``mode:work`` or ``mode:work:cost``."""
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise argparse.ArgumentTypeError(f"mode:work[:cost], not {text!r}")
    return parts[0], parts[1], int(parts[2]) if len(parts) == 3 else 0


def numbers(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in text.split(","))


def main() -> None:
    # Ended by a signal, still stop every server and Redis this run started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="every setup and N")
    parser.add_argument(
        "--setups",
        type=lambda t: [setup_from(s) for s in t.split(",")],
        help="e.g. product:daphne:memory,naive:daphne:memory,raw",
    )
    parser.add_argument("--viewers", type=numbers, help="N to sweep, e.g. 100,500,1000")
    parser.add_argument("--count", type=int, help="ticks per fan-out point")
    parser.add_argument("--ks", type=numbers, help="streams at once, e.g. 1,2,4,8")
    parser.add_argument("--no-fanout", action="store_true")
    parser.add_argument("--no-concurrency", action="store_true")
    parser.add_argument("--no-room", action="store_true", help="no eight-stream room sweep")
    parser.add_argument("--idle-seconds", type=float, default=10.0, help="of the idle room")
    parser.add_argument(
        "--room-setups",
        type=lambda t: [setup_from(s) for s in t.split(",")],
        help="setups of the eight-stream room",
    )
    parser.add_argument("--room-viewers", type=numbers, help="N of the eight-stream room")
    parser.add_argument("--no-burst", action="store_true")
    parser.add_argument("--no-workloads", action="store_true", help="no table per workload")
    parser.add_argument(
        "--works",
        type=lambda t: [workload_from(w) for w in t.split(",")],
        help="workloads of that table, e.g. sync:query,async:cpu:100 (default: every one)",
    )
    parser.add_argument("--burst", type=int, help="viewers connecting at once")
    parser.add_argument(
        "--burst-setups",
        type=lambda t: [setup_from(s) for s in t.split(",")],
        help="setups of the connect burst, e.g. product:daphne:memory,ceiling:daphne,raw",
    )
    parser.add_argument("--json", help="where the JSON goes")
    parser.add_argument("--plot", help="where the PNG goes")
    args = parser.parse_args()
    plan = FULL if args.full else QUICK
    setups = tuple(args.setups or plan.setups)
    viewers = args.viewers or plan.viewers
    count = args.count or plan.count
    ks = args.ks or plan.ks

    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    load_before = _load()
    print(
        f"{'full' if args.full else 'quick'} run: {len(setups)} setups, N in {viewers}, "
        f"{count} ticks each; concurrency K in {'none' if args.no_concurrency else ks}; "
        f"load average {load_before}"
    )
    points: list[sweep.Point] = []
    if not args.no_fanout:
        print(report.POINT_HEADER)

        def show(point: sweep.Point) -> None:
            print(report.point_row(point), flush=True)

        points = sweep.run_all(setups, sweep.Sweep(viewers, count, INTERVAL, show))
        if not args.no_room:
            room_setups = tuple(args.room_setups or plan.room_setups)
            room_plan = sweep.Sweep(
                args.room_viewers or plan.room_viewers, count, INTERVAL, show, sweep.EIGHT
            )
            points += sweep.run_all(room_setups, room_plan)
    batches: list[concurrency.Batch] = []
    works: list[concurrency.WorkBatch] = []
    scenario = None
    if not args.no_concurrency:
        workloads = () if args.no_workloads else (args.works or concurrency.WORKLOADS)
        batches, scenario, works = concurrency.run(ks, workloads)
    idle = None
    if not args.no_fanout:
        idle = sweep.run_idle(Setup("product", "daphne", "memory"), seconds=args.idle_seconds)
    if idle is not None:
        print(
            f"\nIdle room, {idle['viewers']} viewers for {idle['seconds']:g} s: "
            f"{idle['frames_per_viewer_s']} frames and {idle['bytes_per_viewer_s']} bytes a "
            "second per viewer"
        )
    bursts: list[burst.BurstPoint] = []
    if not args.no_burst:
        size = args.burst or plan.burst
        print(f"\nConnect burst: {size} viewers at once, from {burst.PROCESSES} client processes")
        print(burst.HEADER)
        bursts = burst.run_all(
            args.burst_setups or list(plan.burst_setups), size, plan.burst_repeats
        )
    best = report.largest(points)
    judged = report.targets(points) + report.burst_targets(bursts) + report.idle_targets(idle)
    report.print_all(points, batches, scenario, judged, bursts, works)

    elapsed = time.monotonic() - started
    json_path = ROOT / (args.json or plan.json)
    plot_path = ROOT / (args.plot or plan.plot)
    document = {
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "started": started_at,
        "seconds": round(elapsed, 1),
        "load_average": {"before": load_before, "after": _load()},
        "machine": report.machine(),
        "interval": INTERVAL,
        "ticks_per_point": count,
        "fanout": points,
        "largest": best,
        "targets": judged,
        "concurrency": batches,
        "while_sync_loops": scenario,
        "workloads": works,
        "burst": bursts,
        "idle": idle,
    }
    report.write_json(json_path, document)
    json_path.with_suffix(".md").write_text(report.markdown(document, points))
    if points:
        title = f"Fan-out, {count} ticks per point; load average {load_before} before the run"
        report.plot(plot_path, points, title)
    written = [json_path, json_path.with_suffix(".md"), *([plot_path] if points else [])]
    print(f"\n{elapsed:.0f} s; wrote {', '.join(_shown(path) for path in written)}")


def _load() -> str:
    import os

    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


if __name__ == "__main__":
    main()
