"""The benchmark's fragment parsing and tick schedule, on the product's real fragments."""

import time

import pytest

from bench import ticks
from streams import events
from streams.choices import Mode, ThreadModel
from streams.stream import Stream
from tests.factories import ticked


def running_stream(seq: int) -> Stream:
    stream = Stream("lobby", 7, Mode.ASYNC, 50, 0.1, created_at=time.time())
    stream = stream.started(time.time(), ThreadModel.SHARED)
    for n in range(1, seq + 1):
        stream = ticked(stream, n, 0.001)
    return stream


def test_bodies_reads_a_tick_fragment():
    html = events.stream_event("stream.tick", running_stream(12), time.time())["html"]
    assert ticks.bodies(html.encode()) == [(7, 12)]


def test_bodies_reads_a_whole_card_as_tick_zero_before_any_tick():
    html = events.stream_event("stream.started", running_stream(0), time.time())["html"]
    assert ticks.bodies(html.encode()) == [(7, 0)]


def test_bodies_of_a_frame_about_something_else_is_empty():
    assert ticks.bodies(b'<p id="gauges" hx-swap-oob="true">lag 1 ms</p>') == []


def test_schedule_start_is_the_run_request_without_a_scheduled_field():
    events_ = [{"seq": 1, "lateness": 0.002}, {"seq": 2, "lateness": 0.001}]
    assert ticks.schedule_start(100.0, events_, 0.1, wall_minus_monotonic=5000.0) == 100.0


def test_schedule_start_is_exact_from_a_scheduled_field():
    # Tick 3 due at wall clock 5100.5, so the schedule started at 5100.2 (wall), 100.2 here.
    events_ = [{"seq": 3, "lateness": 0.0, "scheduled": 5100.5}]
    start = ticks.schedule_start(99.0, events_, 0.1, wall_minus_monotonic=5000.0)
    assert start == pytest.approx(100.2)


def test_scheduled_at_counts_ticks_from_one():
    assert ticks.scheduled_at(10.0, 1, 0.1) == pytest.approx(10.1)
    assert ticks.scheduled_at(10.0, 30, 0.1) == pytest.approx(13.0)
