"""Channel-layer events sent to a room's group, each carrying its fragment rendered once.

Types are dotted (``stream.tick``); Channels calls the viewer's ``stream_tick`` handler.
Every viewer forwards ``html`` as is, so a tick costs one render however many watch it.
"""

from typing import Any

from streams import fragments
from streams.stream import State, Stream

STREAM_EVENTS = frozenset(
    {
        "stream.waiting",  # registered: its card is appended to its column
        "stream.attempt",  # a producer handshake for it arrived: still waiting
        "stream.started",
        "stream.tick",
        "stream.finished",
        "stream.stopped",
        "stream.failed",
    }
)


def stream_event(kind: str, stream: Stream, now: float) -> dict[str, Any]:
    """An event about ``stream``: ``stream.waiting`` appends its card, a tick or a handshake
    attempt replaces the card's body, the others replace the whole card."""
    if kind not in STREAM_EVENTS:
        raise ValueError(f"not a stream event: {kind}")
    if kind == "stream.waiting":
        html = fragments.new_stream(stream, now)
    elif kind in {"stream.tick", "stream.attempt"}:
        html = fragments.stream_body(stream, now)
    else:
        html = fragments.stream_card(stream, now)
    return {
        "type": kind,
        "stream": stream.number,
        "mode": stream.mode.value,
        "state": stream.state.value,
        "seq": stream.seq,  # the last tick sent
        # That tick's due time and send time, wall clock: a receiver's lateness is its own
        # clock minus "scheduled".
        "scheduled": stream.scheduled_at,
        "sent": stream.sent_at,
        "lateness": stream.recent_lateness[-1] if stream.recent_lateness else None,
        "html": html,
    }


def end_kind(stream: Stream) -> str:
    """The event that announces how ``stream`` ended."""
    match stream.state:
        case State.DONE:
            return "stream.finished"
        case State.FAILED:
            return "stream.failed"
    return "stream.stopped"


def room_event(kind: str, html: str) -> dict[str, Any]:
    """``room.reset``, ``room.thread_model``, ``room.presence``, ``run.recorded``,
    ``run.compared`` or ``chat.message``."""
    return {"type": kind, "html": html}


def for_client(event: dict[str, Any]) -> dict[str, Any]:
    """What a producer tells its own client: the event as JSON, without the HTML."""
    return {key: value for key, value in event.items() if key != "html"}
