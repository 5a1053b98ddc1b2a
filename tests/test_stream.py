from streams.stream import RECENT_TICKS, Mode, State, Stream, ThreadModel


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
    stream = stream.ticked(1, 0.01, orphaned=False).ticked(2, 0.03, orphaned=False)
    assert (stream.seq, stream.progress_percent, stream.max_lateness) == (2, 50, 0.03)
    assert stream.recent_lateness == (0.01, 0.03)
    assert stream.elapsed(now=13.5) == 1.0
    stream = stream.ended(State.DONE, 14.5)
    assert not stream.is_live and stream.elapsed(now=99.0) == 2.0


def test_stream_orphaned_tick_keeps_counting():
    stream = make().started(10.0, ThreadModel.SHARED).ticked(1, 0.0, orphaned=True)
    assert stream.state is State.ORPHANED and stream.is_live and stream.seq == 1


def test_stream_recent_lateness_is_bounded():
    stream = make(count=500).started(10.0, ThreadModel.SHARED)
    for seq in range(1, 200):
        stream = stream.ticked(seq, seq / 1000, orphaned=False)
    assert len(stream.recent_lateness) == RECENT_TICKS
    assert stream.recent_lateness[-1] == 0.199 and stream.max_lateness == 0.199


def test_stream_attempts_and_notes():
    stream = make().attempted().attempted()
    assert stream.attempts == 2
    assert stream.ended(State.STOPPED, 11.0, "stopped from the dashboard").note == (
        "stopped from the dashboard"
    )
