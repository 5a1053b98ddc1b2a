"""The gauges' history: the minute the sparkline draws, the peaks a run records."""

import asyncio

from streams.gauges import History, Sampler


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


async def test_a_run_ending_before_the_push_that_tells_its_peak_still_records_it():
    sampler = Sampler()
    sampler.history.add(1000.0, lag=0.01, wait=0.2)
    sampler.unpushed = (0.15, 0.05)  # a 150 ms block, seen since the last push
    assert sampler.peaks(999.0, 1000.5) == (0.01, 0.2)  # no sampler running: pushed only
    sampler.task = asyncio.create_task(asyncio.sleep(10))
    try:
        assert sampler.peaks(999.0, 1000.5) == (0.15, 0.2)
        assert sampler.peaks(5000.0, 5001.0) == (0.15, 0.05)
    finally:
        sampler.task.cancel()
