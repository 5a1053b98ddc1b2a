from streams.choices import Mode, Outcome, ThreadModel
from streams.schedule import LatenessSummary
from streams.stream import RECENT_TICKS, State, Stream
from tests.factories import ticked


def make(**kwargs) -> Stream:
    defaults = {
        "room": "r",
        "number": 1,
        "mode": Mode.SYNC,
        "count": 4,
        "interval": 0.5,
        "created_at": 10.0,
    }
    return Stream(**(defaults | kwargs))


def test_stream_lifecycle():
    stream = make()
    assert stream.state is State.WAITING and stream.is_live and stream.waited is None
    stream = stream.started(12.5, ThreadModel.SHARED)
    assert (stream.state, stream.waited, stream.thread_model) == (
        State.RUNNING,
        2.5,
        ThreadModel.SHARED,
    )
    stream = ticked(ticked(stream, 1, 0.01), 2, 0.03)
    assert (stream.seq, stream.progress_percent, stream.max_lateness) == (2, 50, 0.03)
    assert stream.recent_lateness == (0.01, 0.03)
    assert stream.elapsed(now=13.5) == 1.0
    stream = stream.ended(State.DONE, 14.5)
    assert not stream.is_live and stream.elapsed(now=99.0) == 2.0


def test_stream_orphaned_keeps_counting_and_ends_orphaned():
    stream = ticked(make().started(10.0, ThreadModel.SHARED), 1, 0.0).orphan()
    assert stream.state is State.ORPHANED and stream.is_live and stream.outcome is None
    stream = ticked(stream, 2, 0.0)
    assert stream.state is State.ORPHANED and stream.seq == 2
    assert stream.ended(State.DONE, 12.0).outcome is Outcome.ORPHANED
    assert stream.ended(State.STOPPED, 12.0, "stopped from the dashboard").outcome is (
        Outcome.ORPHANED
    )


def test_stream_outcomes():
    running = make().started(10.0, ThreadModel.SHARED)
    assert running.outcome is None
    assert running.ended(State.DONE, 11.0).outcome is Outcome.FINISHED
    assert running.ended(State.STOPPED, 11.0).outcome is Outcome.STOPPED
    assert running.ended(State.FAILED, 11.0, "ConnectionError").outcome is Outcome.FAILED
    assert running.orphan().ended(State.FAILED, 11.0).outcome is Outcome.FAILED


def test_stream_tick_carries_its_schedule_and_summary():
    stream = make().started(10.0, ThreadModel.SHARED)
    summary = LatenessSummary(p50=0.002, p95=0.009, max=0.02)
    stream = stream.ticked(3, 0.004, summary, scheduled_at=11.5, sent_at=11.504)
    assert (stream.seq, stream.scheduled_at, stream.sent_at) == (3, 11.5, 11.504)
    assert (stream.p95_lateness, stream.max_lateness) == (0.009, 0.02)


def test_stream_recent_lateness_is_bounded():
    stream = make(count=500).started(10.0, ThreadModel.SHARED)
    for seq in range(1, 200):
        stream = ticked(stream, seq, seq / 1000)
    assert len(stream.recent_lateness) == RECENT_TICKS
    assert stream.recent_lateness[-1] == 0.199 and stream.max_lateness == 0.199


def test_stream_attempts_and_notes():
    stream = make().attempted().attempted()
    assert stream.attempts == 2
    assert stream.ended(State.STOPPED, 11.0, "stopped from the dashboard").note == (
        "stopped from the dashboard"
    )


def test_the_process_that_answers_for_a_stream_follows_it_to_its_producer():
    stream = make(process="web-1:10")
    assert stream.attempted("web-2:20").process == "web-2:20"  # its handshake reached it
    assert stream.attempted().process == "web-1:10"
    assert stream.started(12.5, ThreadModel.SHARED, "web-3:30").process == "web-3:30"


def test_a_live_stream_is_abandoned_once_its_process_is_gone():
    running = make(process="web-1:10").started(100.0, ThreadModel.SHARED)
    assert not running.is_abandoned({"web-1:10", "web-2:20"})
    assert running.is_abandoned({"web-2:20"})
    assert running.orphan().is_abandoned(set())
    assert make(process="web-1:10").is_abandoned(set())  # waiting: no one will run it
    assert not running.ended(State.DONE, 101.0).is_abandoned(set())
    assert make().is_abandoned({"web-1:10"})  # a record from before processes were named


def test_an_abandoned_stream_ends_failed_when_it_was_last_heard_of():
    running = ticked(make(interval=60, count=5).started(100.0, ThreadModel.SHARED), 1, 0.0)
    ended = running.abandoned(now=220.0)
    assert (ended.state, ended.ended_at, ended.outcome) == (State.FAILED, 160.0, Outcome.FAILED)
    assert ended.note == "its server process stopped: no word from it for 60 s"
    waiting = make().abandoned(now=50.0)
    assert (waiting.state, waiting.ended_at) == (State.FAILED, 50.0)
    assert waiting.note == "its server process stopped before it started"


def test_what_a_running_loop_makes_of_its_flags():
    running = make().started(10.0, ThreadModel.SHARED)
    assert running.heard(stop=False, orphaned=False, now=11) == running
    orphaned = running.heard(stop=False, orphaned=True, now=11)
    assert orphaned.state is State.ORPHANED and orphaned.is_live
    assert orphaned.heard(stop=False, orphaned=True, now=12) == orphaned
    stopped = orphaned.heard(stop=True, orphaned=True, now=12)
    assert (stopped.state, stopped.note, stopped.ended_at) == (
        State.STOPPED,
        "stopped from the dashboard",
        12,
    )
    assert stopped.outcome is Outcome.ORPHANED


def test_a_running_loop_ends_when_its_server_stops_whatever_the_flags_say():
    running = make().started(10.0, ThreadModel.SHARED)
    for stop in (False, True):
        ended = running.heard(stop=stop, orphaned=False, now=11, server_stopping=True)
        assert (ended.state, ended.note, ended.ended_at) == (
            State.STOPPED,
            "the server stopped",
            11,
        )
        assert ended.outcome is Outcome.STOPPED
