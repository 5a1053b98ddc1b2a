import pytest

from streams.schedule import TickSchedule, rate, sparkline_points, summarize


def test_schedule_due_times_are_whole_intervals_from_start():
    schedule = TickSchedule(start=100.0, interval=0.5, count=3)
    assert list(schedule.seqs) == [1, 2, 3]
    assert [schedule.due(s) for s in schedule.seqs] == [100.5, 101.0, 101.5]


def test_schedule_wait_before_never_negative():
    schedule = TickSchedule(start=0.0, interval=1.0, count=5)
    assert schedule.wait_before(2, now=0.25) == 1.75
    assert schedule.wait_before(2, now=3.0) == 0.0


def test_schedule_paces_to_due_time_so_delays_do_not_accumulate():
    schedule = TickSchedule(start=0.0, interval=1.0, count=3)
    # Tick 1 was sent 0.4 s late: tick 2 still aims at t=2, not t=2.4.
    assert schedule.wait_before(2, now=1.4) == pytest.approx(0.6)


def test_schedule_lateness_counts_early_as_on_time():
    schedule = TickSchedule(start=0.0, interval=1.0, count=3)
    assert schedule.lateness(1, now=1.25) == 0.25
    assert schedule.lateness(1, now=0.999) == 0.0


def test_summarize_empty_run_is_none():
    assert summarize([]) is None


def test_summarize_single_tick():
    summary = summarize([0.2])
    assert (summary.p50, summary.p95, summary.max) == (0.2, 0.2, 0.2)


def test_summarize_percentiles():
    summary = summarize([i / 100 for i in range(101)])  # 0.00 .. 1.00
    assert summary.p50 == pytest.approx(0.5)
    assert summary.p95 == pytest.approx(0.95)
    assert summary.max == 1.0


def test_rate_before_any_time_is_zero():
    assert rate(5, 0.0) == 0.0
    assert rate(10, 4.0) == 2.5


def test_sparkline_scales_to_floor_or_largest_value():
    assert sparkline_points([], 100, 10, floor=1.0) == ""
    assert sparkline_points([0.0, 0.5], 100, 10, floor=1.0) == "0.0,10.0 100.0,5.0"
    assert sparkline_points([0.0, 2.0], 100, 10, floor=1.0) == "0.0,10.0 100.0,0.0"


def test_sparkline_single_value_and_negative_values_stay_in_the_box():
    assert sparkline_points([-1.0], 100, 10, floor=1.0) == "0.0,10.0"
    assert sparkline_points([3.0, -2.0, 0.0], 50, 5, floor=1.0) == "0.0,0.0 25.0,5.0 50.0,5.0"
