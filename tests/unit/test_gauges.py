"""The gauges' history: the minute the sparkline draws, the peaks a run records."""

from streams.gauges import History


def test_the_last_minute_and_the_peaks_of_a_run():
    history = History()
    for second in range(120):
        history.add(1000.0 + second, lag=0.001 * (second % 7), wait=0.0)
    history.add(1120.0, lag=0.25, wait=1.5)  # a cpu tick in async, and a sync loop
    assert len(history.last_minute(1120.0)) == 60
    assert history.peaks(1100.0, 1120.0) == (0.25, 1.5)
    assert history.peaks(1000.0, 1050.0) == (0.006, 0.0)
    assert history.peaks(5000.0, 6000.0) is None


def test_an_hour_is_kept_and_no_more():
    history = History()
    for second in range(4000):
        history.add(float(second), 0.0, 0.0)
    assert len(history.points) == 3600 and history.points[0][0] == 400.0
