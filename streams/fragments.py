"""Render the HTML fragments the htmx ws extension swaps in.

Every fragment is a partial of ``streams/dashboard.html``, so the first page load and each
live update come from one template. A fragment is one or more top-level elements with an
``id`` and ``hx-swap-oob``: htmx 2 and htmx 4 swap those alike.
"""

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from django.template.loader import render_to_string

from streams import charts
from streams.charts import series_points, sparkline_points
from streams.choices import Mode, ThreadModel, Work
from streams.history import Comparison
from streams.models import StreamRun
from streams.reading import Finding
from streams.stream import State, Stream

PAGE = "streams/dashboard.html"
SPARK_WIDTH, SPARK_HEIGHT = 120, 24
SPARK_FLOOR = 0.05  # a flat line means "under 50 ms late"
GAUGE_WIDTH, GAUGE_FLOOR = 120, 0.05  # the gauges' minute: flat means under 50 ms


def rate(ticks: int, elapsed: float) -> float:
    """Ticks per second over ``elapsed`` seconds; 0 before any time has passed."""
    return ticks / elapsed if elapsed > 0 else 0.0


def _render(partial: str, context: dict[str, Any]) -> str:
    return render_to_string(f"{PAGE}#{partial}", context)


def status_text(stream: Stream) -> str:
    match stream.state:
        case State.WAITING if stream.attempts > 1:
            return f"waiting for the shared sync thread, retry {stream.attempts - 1}"
        case State.WAITING if stream.attempts == 1:
            # Its handshake reached the server, but no consumer has handled it yet.
            return "waiting for the shared sync thread"
        case State.WAITING:
            return "waiting for its connection"
        case State.RUNNING:
            return "running"
        case State.ORPHANED:
            return "orphaned: its client left, the sync thread loops on"
        case State.DONE:
            return "done"
        case State.STOPPED:
            return f"stopped: {stream.note}" if stream.note else "stopped"
        case State.FAILED:
            return f"failed: {stream.note}" if stream.note else "failed"


def card_context(stream: Stream, now: float) -> dict[str, Any]:
    return {
        "stream": stream,
        "status": status_text(stream),
        "rate": rate(stream.seq, stream.elapsed(now)),
        "spark": sparkline_points(stream.recent_lateness, SPARK_WIDTH, SPARK_HEIGHT, SPARK_FLOOR),
        "last_lateness": stream.recent_lateness[-1] if stream.recent_lateness else None,
    }


def stream_card(stream: Stream, now: float) -> str:
    """The whole card replacing the stream's current one: its state changed."""
    return _render("stream-card", {"card": card_context(stream, now), "oob": True})


def stream_body(stream: Stream, now: float) -> str:
    """The card's live part alone: what a tick changes. Its Stop button stays put."""
    return _render("stream-body", {"card": card_context(stream, now), "oob": True})


def new_stream(stream: Stream, now: float) -> str:
    """The card appended to its column."""
    return _render("stream-append", {"card": card_context(stream, now), "mode": stream.mode})


def column_contexts(streams: Iterable[Stream], now: float) -> list[dict[str, Any]]:
    """Each column's mode, cards and work choices, as the page and the snapshot render."""
    streams = list(streams)
    return [
        {
            "mode": mode,
            "cards": [card_context(s, now) for s in streams if s.mode is mode],
            "works": [
                {"value": w.value, "label": w.label, "freezes": w.freezes(mode)}
                for w in Work
                if mode is Mode.ASYNC or not w.async_only
            ],
        }
        for mode in Mode
    ]


def timeline(streams: Sequence[Stream], now: float) -> str:
    """The room's timeline, replaced whole."""
    return _render("timeline", {"chart": charts.timeline(streams, now), "oob": True})


def columns(streams: Iterable[Stream], now: float) -> str:
    """Both columns' stream lists, replaced whole (snapshot and reset)."""
    return "".join(
        _render("stream-list", {**column, "oob": True}) for column in column_contexts(streams, now)
    )


def error(panel: str, message: str) -> str:
    return _render("errors", {"panel": panel, "message": message, "oob": True})


def clear_error(panel: str) -> str:
    return _render("errors", {"panel": panel, "message": "", "oob": True})


def chat_line(text: str, at: float) -> str:
    return _render("chat-line", {"text": text, "at": datetime.fromtimestamp(at, tz=UTC)})


def thread_model_context(room: str, model: ThreadModel) -> dict[str, Any]:
    return {"room": room, "model": model, "models": list(ThreadModel)}


def thread_model(room: str, model: ThreadModel) -> str:
    return _render("thread-model", {**thread_model_context(room, model), "oob": True})


def producers(room: str, streams: Sequence[Stream]) -> str:
    """Producer connections for the browser that asked for ``streams``: htmx opens one
    WebSocket per stream and sends its ``run`` frame once the socket is open."""
    return _render("producers", {"room": room, "streams": streams})


def lost(number: int, ticks: int) -> str:
    """The ticks this viewer's connection missed of stream ``number``: its own figure, sent
    after the card body that every viewer shares."""
    return _render("stream-lost", {"number": number, "lost": ticks, "oob": True})


def gauges(
    process: str,
    loop_lag: float,
    thread_wait: float,
    waiting: bool,
    recent: Sequence[tuple[float, float, float]] = (),
) -> str:
    """A process's event-loop lag and shared-thread wait (streams/gauges.py), with a
    sparkline of each over the last minute: ``recent`` (time, lag, wait), one a second."""
    now = recent[-1][0] if recent else 0.0
    top = max([GAUGE_FLOOR, *(lag for _, lag, _ in recent), *(w for _, _, w in recent)])
    size = (GAUGE_WIDTH, SPARK_HEIGHT)
    context = {
        "process": process,
        "loop_lag": loop_lag,
        "thread_wait": thread_wait,
        "waiting": waiting,
        "lag_points": series_points([(t, lag) for t, lag, _ in recent], now, 60, size, top),
        "wait_points": series_points([(t, w) for t, _, w in recent], now, 60, size, top),
        "top": top,
        "oob": True,
    }
    return _render("gauges", context)


def presence(viewers: int) -> str:
    return _render("presence", {"viewers": viewers, "oob": True})


def history_row(run: StreamRun) -> str:
    return _render("history-prepend", {"run": run})


def comparison(rows: Sequence[Comparison]) -> str:
    return _render("comparison", {"comparison": rows, "oob": True})


def reading(findings: Sequence[Finding]) -> str:
    return _render("reading", {"reading": findings, "oob": True})


def layer_down() -> str:
    return _render("layer-status", {"down": True, "oob": True})


def layer_back() -> str:
    return _render("layer-status", {"down": False, "oob": True})
