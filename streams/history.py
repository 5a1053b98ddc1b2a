"""Sync against async, per thread model: the comparison under the history table.

Pure: it reads plain attributes of finished runs (``StreamRun`` rows or anything shaped
like them) and returns rows to render. Medians, so one odd run does not carry the figure.
"""

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from streams.choices import Mode, ThreadModel


class RunFigures(Protocol):
    mode: str
    thread_model: str
    waited: float | None
    duration: float
    lateness_p95: float | None


@dataclass(frozen=True)
class Comparison:
    thread_model: ThreadModel
    mode: Mode
    runs: int
    waited: float | None  # median seconds from request to start
    duration: float | None  # median seconds from start to end
    lateness_p95: float | None  # median of the runs' p95 lateness


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def compare(runs: Iterable[RunFigures]) -> list[Comparison]:
    """One row per thread model and mode, sync before async, runs that never started
    (no ``waited``) left out: they say nothing about either."""
    started = [run for run in runs if run.waited is not None]
    rows = []
    for model in ThreadModel:
        for mode in Mode:
            group = [r for r in started if r.thread_model == model and r.mode == mode]
            rows.append(
                Comparison(
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
