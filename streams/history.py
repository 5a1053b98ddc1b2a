"""Sync against async, per work and thread model: the comparison under the history table.

Pure: it reads plain attributes of finished runs (``StreamRun`` rows or anything shaped
like them) and returns rows to render. Medians, so one odd run does not carry the figure.
"""

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from streams.choices import Mode, ThreadModel, Work
from streams.reading import Finding


class RunFigures(Protocol):
    mode: str
    thread_model: str
    work: str
    waited: float | None
    duration: float
    lateness_p95: float | None


@dataclass(frozen=True)
class Comparison:
    work: Work
    thread_model: ThreadModel
    mode: Mode
    runs: int
    waited: float | None  # median seconds from request to start
    duration: float | None  # median seconds from start to end
    lateness_p95: float | None  # median of the runs' p95 lateness


@dataclass(frozen=True)
class Compared:
    """The comparison table, and the reading of the runs below it (streams/reading.py)."""

    rows: list[Comparison]
    findings: list[Finding]


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def compare(runs: Iterable[RunFigures]) -> list[Comparison]:
    """One row per work, thread model and mode, sync before async: every row of the
    ``sleep`` work, and those of other works that have runs. Runs that never started (no
    ``waited``) are left out: they say nothing about either."""
    started = [run for run in runs if run.waited is not None]
    present = {run.work for run in started}
    rows = []
    for work in Work:
        if work is not Work.SLEEP and work.value not in present:
            continue
        for model in ThreadModel:
            for mode in Mode:
                group = [
                    r
                    for r in started
                    if r.thread_model == model and r.mode == mode and r.work == work
                ]
                if work is not Work.SLEEP and not group:
                    continue
                rows.append(
                    Comparison(
                        work=work,
                        thread_model=model,
                        mode=mode,
                        runs=len(group),
                        waited=_median([r.waited for r in group if r.waited is not None]),
                        duration=_median([r.duration for r in group]),
                        lateness_p95=_median(
                            [r.lateness_p95 for r in group if r.lateness_p95 is not None]
                        ),
                    )
                )
    return rows
