from dataclasses import dataclass

import pytest

from streams.choices import Mode, ThreadModel, Work
from streams.history import compare


@dataclass
class Run:
    mode: str
    thread_model: str
    waited: float | None
    duration: float
    lateness_p95: float | None
    work: str = "sleep"


def row(rows, model: ThreadModel, mode: Mode, work: Work = Work.SLEEP):
    [found] = [r for r in rows if r.thread_model is model and r.mode is mode and r.work is work]
    return found


def test_compare_gives_medians_per_thread_model_and_mode():
    rows = compare(
        [
            Run("sync", "shared", 0.0, 1.0, 0.001),
            Run("sync", "shared", 1.0, 1.0, 0.002),
            Run("sync", "shared", 2.0, 1.2, 0.009),
            Run("async", "shared", 0.01, 1.0, 0.001),
            Run("sync", "per_connection", 0.02, 1.0, 0.003),
            Run("sync", "per_connection", 0.04, 1.1, 0.005),
        ]
    )
    assert [(r.thread_model, r.mode) for r in rows] == [
        (ThreadModel.SHARED, Mode.SYNC),
        (ThreadModel.SHARED, Mode.ASYNC),
        (ThreadModel.PER_CONNECTION, Mode.SYNC),
        (ThreadModel.PER_CONNECTION, Mode.ASYNC),
    ]
    shared_sync = row(rows, ThreadModel.SHARED, Mode.SYNC)
    assert (shared_sync.runs, shared_sync.waited, shared_sync.duration) == (3, 1.0, 1.0)
    assert shared_sync.lateness_p95 == 0.002
    own_sync = row(rows, ThreadModel.PER_CONNECTION, Mode.SYNC)
    assert own_sync.waited == pytest.approx(0.03) and own_sync.duration == pytest.approx(1.05)


def test_compare_leaves_out_runs_that_never_started_and_shows_empty_groups():
    rows = compare([Run("async", "", None, 0.0, None)])
    assert all(r.runs == 0 and r.waited is None and r.lateness_p95 is None for r in rows)


def test_compare_run_without_ticks_counts_but_has_no_lateness():
    rows = compare([Run("async", "shared", 0.5, 0.0, None)])
    shared_async = row(rows, ThreadModel.SHARED, Mode.ASYNC)
    assert (shared_async.runs, shared_async.waited, shared_async.lateness_p95) == (1, 0.5, None)


def test_compare_adds_rows_for_the_other_works_that_ran():
    rows = compare(
        [
            Run("async", "shared", 2.0, 1.0, 0.5, work="query"),
            Run("async", "per_connection", 0.0, 1.0, 0.001, work="query"),
            Run("sync", "shared", 0.0, 1.0, 0.001),
        ]
    )
    assert [(r.work, r.thread_model, r.mode) for r in rows][4:] == [
        (Work.QUERY, ThreadModel.SHARED, Mode.ASYNC),
        (Work.QUERY, ThreadModel.PER_CONNECTION, Mode.ASYNC),
    ]
    assert len(rows) == 6  # the four of sleep always, one per other work, mode and model run
    assert row(rows, ThreadModel.SHARED, Mode.ASYNC, Work.QUERY).waited == 2.0
