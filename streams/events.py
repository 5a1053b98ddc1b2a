"""Every group event the dashboard sends, each carrying its fragment rendered once.

Types are dotted (``stream.tick``); Channels calls the handler named after the type with
``_`` for ``.`` (``stream_tick``), as the Channels tutorial's ``chat.message`` reaches
``chat_message`` (https://channels.readthedocs.io/en/latest/tutorial/part_2.html). Every
viewer forwards ``html`` as is, so an event costs one render however many watch it. This is
the one module that builds an event's HTML.
"""

import time
from collections.abc import Iterable, Sequence
from typing import Any

from streams import fragments
from streams.choices import ThreadModel
from streams.history import Compared
from streams.models import StreamRun
from streams.stream import State, Stream

Event = dict[str, Any]

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


def stream_event(kind: str, stream: Stream, now: float) -> Event:
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


def stream_end(stream: Stream) -> Event:
    """The event that announces how ``stream`` ended, now."""
    return stream_event(end_kind(stream), stream, time.time())


def for_client(event: Event) -> Event:
    """What a producer tells its own client: the event as JSON, without the HTML."""
    return {key: value for key, value in event.items() if key != "html"}


def stream_stop() -> Event:
    """To a running async stream's own group (``rooms.stream_group``): stop now."""
    return {"type": "stream.stop"}


def chat_message(text: str, at: float) -> Event:
    return {"type": "chat.message", "html": fragments.chat_line(text, at)}


def room_reset(streams: Iterable[Stream], now: float) -> Event:
    """Both columns as they are now, replaced whole."""
    return {"type": "room.reset", "html": fragments.columns(streams, now)}


def room_thread_model(room: str, model: ThreadModel) -> Event:
    return {"type": "room.thread_model", "html": fragments.thread_model(room, model)}


def room_timeline(streams: Sequence[Stream], now: float) -> Event:
    """The room's timeline, drawn once for a process's viewers (streams/timelines.py)."""
    return {"type": "room.timeline", "html": fragments.timeline(streams, now)}


def room_presence(viewers: int) -> Event:
    return {"type": "room.presence", "html": fragments.presence(viewers)}


def run_recorded(run: StreamRun) -> Event:
    """A finished run's history row, with its delivery figures."""
    return {"type": "run.recorded", "html": fragments.history_row(run)}


def run_compared(compared: Compared) -> Event:
    """The room's sync-against-async table and its reading, after a run was recorded."""
    html = fragments.comparison(compared.rows) + fragments.reading(compared.findings)
    return {"type": "run.compared", "html": html}


def process_gauges(
    process: str,
    loop_lag: float,
    thread_wait: float,
    waiting: bool,
    recent: Sequence[tuple[float, float, float]] = (),
) -> Event:
    """To one process's own viewers (``gauges.GROUP``): its gauges, and their last minute."""
    return {
        "type": "process.gauges",
        "html": fragments.gauges(process, loop_lag, thread_wait, waiting, recent),
    }


def layer_down() -> Event:
    """Handed to this process's viewers without the layer, which cannot carry it."""
    return {"type": "layer.down", "html": fragments.layer_down()}


def layer_back() -> Event:
    """The layer answers again: each viewer takes a fresh snapshot."""
    return {"type": "layer.back"}
