"""The benchmark's pure statistics: percentiles, lost ticks, the largest passing N."""

import pytest

from bench import stats


def test_nearest_rank_is_an_observed_value():
    values = list(range(1, 1001))  # 1..1000
    assert stats.nearest_rank(values, 0.50) == 500
    assert stats.nearest_rank(values, 0.99) == 990
    assert stats.nearest_rank(values, 1.0) == 1000


def test_nearest_rank_of_few_values_is_the_worst_of_them():
    assert stats.nearest_rank([0.01, 0.02, 0.5], 0.99) == 0.5
    assert stats.nearest_rank([0.3], 0.5) == 0.3


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5])
def test_nearest_rank_refuses_a_fraction_outside_0_1(fraction):
    with pytest.raises(ValueError):
        stats.nearest_rank([1.0], fraction)


def test_nearest_rank_refuses_no_values():
    with pytest.raises(ValueError):
        stats.nearest_rank([], 0.5)


def test_lateness_sorts_its_input():
    summary = stats.lateness([0.3, 0.1, 0.2, 0.05])
    assert summary == stats.Lateness(count=4, p50=0.1, p99=0.3, max=0.3)


def test_lateness_of_nothing_is_none():
    assert stats.lateness([]) is None


def test_missing_counts_gaps_and_an_unreceived_tail():
    assert stats.missing([1, 2, 3, 4, 5], sent=5) == 0
    assert stats.missing([1, 3, 5], sent=5) == 2
    assert stats.missing([1, 2, 3], sent=5) == 2
    assert stats.missing([], sent=5) == 5


def test_missing_ignores_duplicates_and_ticks_outside_the_run():
    assert stats.missing([0, 1, 1, 2, 2, 3, 9], sent=3) == 0


@pytest.mark.parametrize(
    ("p99", "lost", "failed", "passed"),
    [
        (0.100, 0, 0, True),
        (0.1001, 0, 0, False),
        (0.010, 1, 0, False),
        (0.010, 0, 1, False),
        (None, 0, 0, False),
    ],
)
def test_good_needs_p99_within_100_ms_nothing_lost_everyone_connected(p99, lost, failed, passed):
    assert stats.good(p99, lost, failed) is passed


def test_largest_good_stops_at_the_first_failure():
    assert stats.largest_good([(100, True), (250, True), (500, False), (1000, True)]) == 250
    assert stats.largest_good([(500, True), (100, True)]) == 500
    assert stats.largest_good([(100, False)]) is None
    assert stats.largest_good([]) is None
