"""The charts' geometry: pure, on plain values."""

from dataclasses import replace

from streams.charts import MAX_TICKS, ROW, series_points, sparkline_points, timeline
from streams.choices import Mode
from streams.stream import State, Stream


def test_sparkline_scales_to_floor_or_largest_value():
    assert sparkline_points([], 100, 10, floor=1.0) == ""
    assert sparkline_points([0.0, 0.5], 100, 10, floor=1.0) == "0,10 100,5"
    assert sparkline_points([0.0, 2.0], 100, 10, floor=1.0) == "0,10 100,0"


def test_sparkline_single_value_and_negative_values_stay_in_the_box():
    assert sparkline_points([-1.0], 100, 10, floor=1.0) == "0,10"
    assert sparkline_points([3.0, -2.0, 0.0], 50, 5, floor=1.0) == "0,0 25,5 50,5"


def stream(number, mode=Mode.SYNC, created=100.0, **changes) -> Stream:
    return replace(Stream("r", number, mode, 10, 0.5, created_at=created), **changes)


def test_series_points_put_now_at_the_right_and_drop_the_older():
    points = series_points([(30.0, 0.0), (70.0, 0.5), (100.0, 1.0)], 100.0, 60, (120, 24), 1.0)
    assert points == "60,12 120,0"  # 30 is more than a minute before now


def test_three_sync_streams_under_the_default_read_as_a_staircase():
    streams = [
        stream(n, started_at=100.0 + 5 * i, ended_at=105.0 + 5 * i, seq=10, state=State.DONE)
        for i, n in enumerate((1, 2, 3))
    ]
    chart = timeline(streams, now=200.0, width=150.0)
    assert chart.span == 15.0  # to the last end: none is live
    assert [bar.running for bar in chart.bars] == [(0.0, 50.0), (50.0, 50.0), (100.0, 50.0)]
    assert [bar.waiting for bar in chart.bars] == [(0.0, 0.5), (0.0, 50.0), (0.0, 100.0)]
    assert [bar.y for bar in chart.bars] == [0, ROW, 2 * ROW]
    assert len(chart.bars[0].ticks) == 10 and chart.bars[0].ticks[-1] == 50.0


def test_a_live_room_runs_to_now_and_a_waiting_stream_has_no_run_yet():
    running = stream(1, started_at=100.0, seq=4, state=State.RUNNING)
    waiting = stream(2, created=101.0)
    chart = timeline([running, waiting], now=110.0, width=100.0)
    assert chart.bars[0].running == (0.0, 100.0)
    assert chart.bars[1].running is None and chart.bars[1].waiting == (10.0, 90.0)
    assert [label for _, label in chart.axis][:3] == ["0 s", "1 s", "2 s"]


def test_a_long_stream_draws_at_most_so_many_ticks():
    long = stream(1, started_at=100.0, seq=10_000, state=State.RUNNING, interval=0.01)
    assert len(timeline([long], now=200.0).bars[0].ticks) <= MAX_TICKS


def test_an_empty_room_has_no_bars():
    assert timeline([], now=1.0).bars == []
