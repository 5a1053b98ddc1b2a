"""Streams in a given state, built through their own state changes."""

from streams.schedule import summarize
from streams.stream import Stream


def ticked(stream: Stream, seq: int, lateness: float) -> Stream:
    """``stream`` after tick ``seq`` went out ``lateness`` seconds late, due on schedule."""
    assert stream.started_at is not None, "a stream ticks once started"
    summary = summarize([*stream.recent_lateness, lateness])
    assert summary is not None
    due = stream.started_at + seq * stream.interval
    return stream.ticked(seq, lateness, summary, scheduled_at=due, sent_at=due + lateness)
