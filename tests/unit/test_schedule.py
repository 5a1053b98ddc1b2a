import random
import statistics

import pytest

from streams.schedule import (
    LatenessLog,
    TickSchedule,
    percentile,
    summarize,
)


class FakeClock:
    """A monotonic clock that moves only when told: sleeping is adding."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


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


def test_schedule_stamps_due_times_on_the_wall_clock():
    schedule = TickSchedule(start=5.0, interval=0.5, count=3, wall_start=1_700_000_000.0)
    assert schedule.scheduled_at(2) == 1_700_000_001.0
    assert schedule.due(2) - schedule.start == schedule.scheduled_at(2) - schedule.wall_start


def test_lateness_of_a_run_with_one_slow_send_on_a_fake_clock():
    """A producer loop as the consumers run it, on a fake clock: tick 3's send takes
    0.25 s. Ticks 4 and 5, due while it was sending, go out late; tick 6 is on time again."""
    clock = FakeClock()
    schedule = TickSchedule(start=clock.now, interval=0.1, count=6)
    log = LatenessLog()
    for seq in schedule.seqs:
        clock.sleep(schedule.wait_before(seq, clock.now))
        log.add(schedule.lateness(seq, clock.now))
        clock.sleep(0.25 if seq == 3 else 0.001)  # the send
    late = log.ordered
    assert late[:4] == [0.0, 0.0, 0.0, 0.0]
    assert late[4] == pytest.approx(0.051)  # tick 5: due at +0.5, sent at +0.551
    assert late[5] == pytest.approx(0.15)  # tick 4: due at +0.4, sent at +0.55
    summary = log.summary()
    assert summary is not None and summary.max == pytest.approx(0.15)
    assert summary.p50 == 0.0 and summary.p95 == pytest.approx(0.051 + 0.75 * 0.099)
    assert clock.now - schedule.start == pytest.approx(0.601)  # the run did not drift


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


def test_percentile_agrees_with_statistics_quantiles_inclusive():
    rng = random.Random(7)
    for size in (2, 3, 10, 101, 997):
        values = sorted(rng.expovariate(50) for _ in range(size))
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        assert percentile(values, 0.50) == pytest.approx(cuts[49])
        assert percentile(values, 0.95) == pytest.approx(cuts[94])
        assert percentile(values, 0.99) == pytest.approx(cuts[98])
        assert percentile(values, 1.0) == values[-1] and percentile(values, 0.0) == values[0]


def test_lateness_log_keeps_every_value_sorted_whatever_the_order():
    log = LatenessLog()
    assert log.summary() is None
    for value in (0.3, 0.1, 0.2, 0.1):
        log.add(value)
    assert log.ordered == [0.1, 0.1, 0.2, 0.3]
    assert log.summary() == summarize([0.3, 0.1, 0.2, 0.1])
