"""Print the tables, judge the targets, write the JSON and draw the plot."""

import json
import os
import platform
from collections.abc import Sequence
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import stats
from bench.burst import HEADER as BURST_HEADER
from bench.burst import BurstPoint
from bench.burst import row as burst_row
from bench.concurrency import Batch, WhileSyncLoops, WorkBatch
from bench.sweep import Point

PACKAGES = ("django", "channels", "channels-redis", "daphne", "uvicorn", "uvloop", "websockets")
DEFAULT_STACK = "product + daphne + memory"
NAIVE_DEFAULT = "naive + daphne + memory"
RAW = "raw + websockets"
RAW_GC = "raw + websockets-gc"  # the same GC tuning as the product


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


def point_row(point: Point) -> str:
    r = point.result
    late = r["lateness"] or {}
    verdict = "ok" if point.passed else "FAIL"
    if r.get("producers_dropped"):
        verdict += f" ({r['producers_dropped']} producer connections dropped by the server)"
    return (
        f"{point.setup:<50} {point.viewers:>5} {r['fragments_per_s']:>8.0f} "
        f"{ms(late.get('p50')):>6} {ms(late.get('p99')):>6} {ms(late.get('max')):>6} "
        f"{r['lost']:>6} {r['failed']:>5} {r.get('frames_per_viewer_s', 0):>7.1f} "
        f"{r.get('bytes_per_viewer_s', 0) / 1000:>7.1f}  {verdict}"
    )


POINT_HEADER = (
    f"{'setup':<50} {'N':>5} {'frag/s':>8} {'p50':>6} {'p99':>6} {'max':>6} "
    f"{'lost':>6} {'fail':>5} {'fr/v/s':>7} {'kB/v/s':>7}  (lateness in ms; per viewer)"
)


def largest(points: Sequence[Point]) -> dict[str, int | None]:
    """Per setup, the largest N that passed (None: not even the smallest)."""
    by_setup: dict[str, list[tuple[int, bool]]] = {}
    for point in points:
        by_setup.setdefault(point.setup, []).append((point.viewers, point.passed))
    return {setup: stats.largest_good(found) for setup, found in by_setup.items()}


def ratios(points: Sequence[Point]) -> list[dict[str, Any]]:
    """Per server and room, the product's largest N over its server's ceiling (a bare ASGI
    app, bench/ceiling.py) and over the raw websockets server, measured in the same run."""
    best = largest(points)
    found = []
    for room, suffix in (("one stream", ""), ("eight streams", " · eight streams")):
        raw = best.get(RAW + suffix)
        for setup in sorted(s for s in best if s.startswith("product") and s.endswith(suffix)):
            if not suffix and "·" in setup:
                continue
            server = setup.split(" + ")[1]
            ceiling = best.get(f"ceiling + {server}{suffix}")
            mine = best[setup] or 0
            found.append(
                {
                    "room": room,
                    "setup": setup.removesuffix(suffix),
                    "viewers": mine,
                    "of_ceiling": mine / ceiling if ceiling else None,
                    "of_raw": mine / raw if raw else None,
                }
            )
    return found


def ratio_lines(points: Sequence[Point]) -> list[str]:
    lines = [
        "| room | setup | largest N | / its server's ceiling | / raw websockets |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for r in ratios(points):
        of_ceiling = f"{r['of_ceiling']:.2f}x" if r["of_ceiling"] is not None else "-"
        of_raw = f"{r['of_raw']:.2f}x" if r["of_raw"] is not None else "-"
        lines.append(f"| {r['room']} | {r['setup']} | {r['viewers']} | {of_ceiling} | {of_raw} |")
    return lines


def targets(points: Sequence[Point]) -> list[dict[str, Any]]:
    """The issue's targets, each with what was measured. A largest N shown as ">=N" passed
    every N tried, so it is only a floor. A target this run cannot judge (its setups were
    not run, or not as far as the target's N) is left out."""
    best = largest(points)
    floors = {p.setup for p in points} - {p.setup for p in points if not p.passed}
    tried = {p.setup: max(q.viewers for q in points if q.setup == p.setup) for p in points}

    def shown(setup: str) -> str:
        n = best.get(setup)
        return "none" if n is None else f"{'>=' * (setup in floors)}{n}"

    def reached(setup: str, n: float) -> bool:
        return (best.get(setup) or 0) >= n

    judged: list[dict[str, Any]] = []
    if DEFAULT_STACK in best and (tried[DEFAULT_STACK] >= 1000 or DEFAULT_STACK not in floors):
        judged.append(
            {
                "target": "default stack holds 1,000 viewers",
                "measured": shown(DEFAULT_STACK),
                "met": reached(DEFAULT_STACK, 1000),
            }
        )
    if DEFAULT_STACK in best and NAIVE_DEFAULT in best:
        # A baseline that failed every N it tried holds fewer than the smallest of them.
        naive = best[NAIVE_DEFAULT] or min(p.viewers for p in points if p.setup == NAIVE_DEFAULT)
        judged.append(
            {
                "target": "default stack >= 3x the naive baseline's largest N",
                "measured": f"{shown(DEFAULT_STACK)} vs {shown(NAIVE_DEFAULT)}",
                "met": reached(DEFAULT_STACK, 3 * naive),
            }
        )
    for ratio in ratios(points):
        if ratio["room"] == "one stream" and ratio["of_ceiling"] is not None:
            judged.append(
                {
                    "target": f"{ratio['setup']} >= 0.9x its server's own ceiling",
                    "measured": f"{ratio['of_ceiling']:.2f}x",
                    "met": ratio["of_ceiling"] >= 0.9,
                }
            )
    room_product = [s for s in best if s.startswith("product") and s.endswith("eight streams")]
    raw_room = f"{RAW} · eight streams"
    if room_product and raw_room in best:
        top = max(room_product, key=lambda s: best[s] or 0)
        judged.append(
            {
                "target": "eight-stream room: the best server holds as many viewers as raw",
                "measured": f"{shown(top)} ({top}) vs {shown(raw_room)}",
                "met": reached(top, best[raw_room] or 0),
            }
        )
    daphne_room = "product + daphne + memory · eight streams"
    if daphne_room in best:
        judged.append(
            {
                "target": "eight-stream room on Daphne: at least 4x the 100 viewers held before",
                "measured": shown(daphne_room),
                "met": reached(daphne_room, 400),
            }
        )
    product = [s for s in best if s.startswith("product") and "·" not in s]
    if product and any(tried[s] >= 2000 or s not in floors for s in product):
        top = max(product, key=lambda s: best[s] or 0)
        judged.append(
            {
                "target": "best setup holds 2,000 viewers",
                "measured": f"{shown(top)} ({top})",
                "met": reached(top, 2000),
            }
        )
        for raw in (RAW, RAW_GC):
            if raw in best:
                judged.append(
                    {
                        "target": f"best setup >= 0.7x the largest N of {raw}",
                        "measured": f"{shown(top)} vs {shown(raw)}",
                        "met": (best[raw] or 0) > 0 and reached(top, 0.7 * (best[raw] or 0)),
                    }
                )
    return judged


def batch_row(batch: Batch) -> str:
    waits = " ".join(f"{w:.2f}" for w in batch.waits)
    finishes = " ".join(f"{f:.2f}" for f in batch.finishes)
    return f"{batch.mode:<6} {batch.thread_model:<15} {batch.streams:>2}  {waits:<42} {finishes}"


WORK_HEADER = (
    f"{'mode':<6} {'work':<9} {'cost':>5}  {'waited, each (s)':<17} {'finished, each (s)':<18}"
    f" {'bystander p99':>13} {'loop lag':>9} {'thread wait':>11}"
)


def work_row(work: WorkBatch) -> str:
    waits = " ".join(f"{w:.2f}" for w in work.waits)
    finishes = " ".join(f"{f:.2f}" for f in work.finishes)
    late = work.bystander_lateness
    return (
        f"{work.mode:<6} {work.work:<9} {work.cost:>5}  {waits:<17} {finishes:<18}"
        f" {(ms(late.p99) + ' ms') if late else '-':>13} {ms(work.loop_lag_max) + ' ms':>9}"
        f" {ms(work.thread_wait_max) + ' ms':>11}"
    )


def work_lines(works: Sequence[WorkBatch]) -> list[str]:
    """The workloads as a Markdown table."""
    lines = [
        "| mode | work | cost ms | waited, each (s) | finished, each (s) | bystander async, "
        "p99 late | event-loop lag, max | shared-thread wait, max |",
        "| --- | --- | ---: | --- | --- | ---: | ---: | ---: |",
    ]
    for work in works:
        late = work.bystander_lateness
        lines.append(
            f"| {work.mode} | {work.work} | {work.cost} | "
            + " ".join(f"{w:.2f}" for w in work.waits)
            + " | "
            + " ".join(f"{f:.2f}" for f in work.finishes)
            + f" | {ms(late.p99) + ' ms' if late else '-'} | {ms(work.loop_lag_max)} ms | "
            f"{ms(work.thread_wait_max)} ms |"
        )
    return lines


def idle_targets(idle: dict[str, Any] | None) -> list[dict[str, Any]]:
    if idle is None:
        return []
    return [
        {
            "target": "an idle room costs at most 1 frame a second per viewer",
            "measured": f"{idle['frames_per_viewer_s']} frames/s, "
            f"{idle['bytes_per_viewer_s']} bytes/s",
            "met": idle["frames_per_viewer_s"] <= 1.0,
        }
    ]


def burst_targets(bursts: Sequence[BurstPoint]) -> list[dict[str, Any]]:
    """The connect burst against its target, and against each server's own ceiling."""
    best: dict[str, float] = {}
    for point in bursts:
        if point.burst.snapshot is not None and point.burst.failed == 0:
            p99 = point.burst.snapshot.p99
            best[point.setup] = min(p99, best.get(point.setup, p99))
    judged = []
    default = "product + daphne + memory"
    if default in best:
        judged.append(
            {
                "target": "1,000 viewers at once: p99 to the snapshot <= 1 s on the default stack",
                "measured": f"{best[default]:.2f} s (Daphne's ceiling "
                f"{best.get('ceiling + daphne', 0):.2f} s, raw {best.get(RAW, 0):.2f} s)",
                "met": best[default] <= 1.0,
            }
        )
    return judged


def burst_lines(bursts: Sequence[BurstPoint]) -> list[str]:
    """The burst as a Markdown table."""
    lines = [
        "| setup | N | connected | 101 p50 s | 101 p99 s | snapshot p50 s | snapshot p99 s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for point in bursts:
        b = point.burst
        up, first = b.upgraded, b.snapshot
        lines.append(
            f"| {point.setup} | {b.viewers} | {b.connected} | "
            + (f"{up.p50:.2f} | {up.p99:.2f} | " if up else "- | - | ")
            + (f"{first.p50:.2f} | {first.p99:.2f} |" if first else "- | - |")
        )
    return lines


def print_all(
    points: Sequence[Point],
    batches: Sequence[Batch],
    scenario: WhileSyncLoops | None,
    judged: Sequence[dict[str, Any]],
    bursts: Sequence[BurstPoint] = (),
    works: Sequence[WorkBatch] = (),
) -> None:
    if points:
        print("\nFan-out: one room, one async stream at 10 ticks/s, N viewers")
        print(POINT_HEADER)
        for point in points:
            print(point_row(point))
        print("\nLargest N with p99 <= 100 ms and nothing lost (of the N tried)")
        floors = {p.setup for p in points} - {p.setup for p in points if not p.passed}
        for setup, n in largest(points).items():
            shown = "none" if n is None else f"{n}{' (passed every N tried)' * (setup in floors)}"
            print(f"  {setup:<50} {shown}")
        if ratios(points):
            print("\nAgainst each server's own ceiling and the raw server (largest N)")
            for line in ratio_lines(points)[2:]:
                print("  " + line.strip("| ").replace(" | ", "   "))
    if batches:
        print("\nConcurrency: K streams of 10 ticks x 0.1 s, asked for at once (seconds)")
        print(f"{'mode':<6} {'thread model':<15} {'K':>2}  {'waited, each stream':<42} finished")
        for batch in batches:
            print(batch_row(batch))
    if scenario is not None:
        late = scenario.running_async_lateness
        print("\nWhile a sync stream loops for ~3 s (default thread model)")
        print(f"  a new viewer connected in:           {ms(scenario.viewer_connect)} ms")
        if late is not None:
            print(
                f"  a running async stream, sent late:   p50 {ms(late.p50)} / p99 "
                f"{ms(late.p99)} / max {ms(late.max)} ms"
            )
        print(
            f"  a new default async producer waited: {scenario.new_async_wait:.2f} s "
            f"(the sync loop ended {scenario.sync_loop_left:.2f} s after it asked)"
        )
    if works:
        print("\nWhat each work does to the others: 2 streams of 10 x 0.2 s at once, shared thread")
        print(WORK_HEADER)
        for work in works:
            print(work_row(work))
    if bursts:
        print("\nConnect burst: viewers connecting at once, seconds to the 101 and to the snapshot")
        print(BURST_HEADER)
        for burst_point in bursts:
            print(burst_row(burst_point))
    if judged:
        print("\nTargets")
        for target in judged:
            print(
                f"  {'met ' if target['met'] else 'MISS'}  {target['target']}: {target['measured']}"
            )


def markdown(document: dict[str, Any], points: Sequence[Point]) -> str:
    """The run as Markdown tables, for docs/benchmarks.md: nothing typed by hand."""
    lines = [
        f"Command: `{document['command']}`, started {document['started']}, "
        f"{document['seconds']:.0f} s; load average {document['load_average']['before']} "
        f"before, {document['load_average']['after']} after.",
        "",
    ]
    machine_ = document["machine"]
    packages = ", ".join(f"{k} {v}" for k, v in machine_["packages"].items() if v)
    lines += [
        f"Machine: {machine_['cpu']}, {machine_['cores']} cores, Python {machine_['python']}, "
        f"{machine_['system']}; {packages}.",
        "",
    ]
    if points:
        lines += [
            "| setup | N | fragments/s | p50 ms | p99 ms | max ms | lost | failed | connect s "
            "| frames/viewer/s | kB/viewer/s | |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for point in points:
            r, late = point.result, point.result["lateness"] or {}
            lines.append(
                f"| {point.setup} | {point.viewers} | {r['fragments_per_s']:.0f} | "
                f"{ms(late.get('p50'))} | {ms(late.get('p99'))} | {ms(late.get('max'))} | "
                f"{r['lost']} | {r['failed']} | {r['connect_seconds']:.1f} | "
                f"{r.get('frames_per_viewer_s', 0):.1f} | "
                f"{r.get('bytes_per_viewer_s', 0) / 1000:.1f} | "
                f"{'ok' if point.passed else '**fail**'} |"
            )
        floors = {p.setup for p in points} - {p.setup for p in points if not p.passed}
        lines += ["", *ratio_lines(points)]
        lines += ["", "| setup | largest N (p99 <= 100 ms, nothing lost) |", "| --- | ---: |"]
        for setup, n in largest(points).items():
            shown = "none" if n is None else f"{'>=' * (setup in floors)}{n}"
            lines.append(f"| {setup} | {shown} |")
    if document["targets"]:
        lines += ["", "| target | measured | |", "| --- | --- | --- |"]
        for target in document["targets"]:
            verdict = "met" if target["met"] else "**missed**"
            lines.append(f"| {target['target']} | {target['measured']} | {verdict} |")
    if document.get("workloads"):
        lines += ["", *work_lines(document["workloads"])]
    if document.get("burst"):
        lines += ["", *burst_lines(document["burst"])]
    batches: list[Batch] = document["concurrency"]
    if batches:
        lines += [
            "",
            "| mode | thread model | K | waited, each stream (s) | finished, each stream (s) |",
            "| --- | --- | ---: | --- | --- |",
        ]
        for batch in batches:
            waits = " ".join(f"{w:.2f}" for w in batch.waits)
            finishes = " ".join(f"{f:.2f}" for f in batch.finishes)
            lines.append(
                f"| {batch.mode} | {batch.thread_model} | {batch.streams} | {waits} | {finishes} |"
            )
    scenario: WhileSyncLoops | None = document["while_sync_loops"]
    if scenario is not None:
        late = scenario.running_async_lateness
        lines += [
            "",
            "While a sync stream loops for about 3 s under the default thread model: a new viewer"
            f" connected in {ms(scenario.viewer_connect)} ms; an async stream already running "
            "sent its ticks "
            + (
                f"p50 {ms(late.p50)} / p99 {ms(late.p99)} / max {ms(late.max)} ms late"
                if late
                else "(no ticks)"
            )
            + f"; a new default async producer waited {scenario.new_async_wait:.2f} s, and the "
            f"sync loop ended {scenario.sync_loop_left:.2f} s after it asked.",
        ]
    return "\n".join(lines) + "\n"


def machine() -> dict[str, Any]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": platform.platform(),
        "packages": versions,
    }


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, default=_plain) + "\n")


def _plain(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    raise TypeError(f"not JSON: {type(value)}")


def plot(path: Path, points: Sequence[Point], title: str) -> None:
    """p99 lateness against viewers, one line per setup (product solid, naive dashed, raw
    dotted); a point where ticks were lost is also marked with an x."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(11, 5.5), dpi=100)
    setups = list(dict.fromkeys(point.setup for point in points))
    palette = plt.get_cmap("tab10")  # ten colours for the product and naive lines
    for index, setup in enumerate(setups):
        mine = [p for p in points if p.setup == setup and p.result["lateness"]]
        xs = [p.viewers for p in mine]
        ys = [p.result["lateness"]["p99"] * 1000 for p in mine]
        style = {"product": "-", "naive": "--"}.get(setup.split(" ")[0], ":")
        colour: Any = palette(index % 10)
        if setup.startswith("raw"):
            colour = "dimgrey" if setup.endswith("-gc") else "black"
        (line,) = axes.plot(xs, ys, marker="o", linestyle=style, color=colour, label=setup)
        lost = [p for p in mine if p.result["lost"]]
        if lost:
            axes.scatter(
                [p.viewers for p in lost],
                [p.result["lateness"]["p99"] * 1000 for p in lost],
                marker="x",
                s=80,
                color=line.get_color(),
            )
    axes.axhline(stats.P99_LIMIT * 1000, color="grey", linestyle="--", linewidth=1)
    axes.text(axes.get_xlim()[0], stats.P99_LIMIT * 1000, " 100 ms", va="bottom", color="grey")
    axes.set_xscale("log")
    axes.set_yscale("log")
    ticks = sorted({p.viewers for p in points})
    axes.set_xticks(ticks, [str(t) for t in ticks])
    axes.set_xlabel("viewers in the room (one async stream, or eight streams, at 10 ticks/s each)")
    axes.set_ylabel("p99 lateness, ms (arrival minus due time)")
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.text(0.99, 0.01, "x: ticks lost", ha="right", fontsize=8, color="grey")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
