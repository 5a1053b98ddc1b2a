"""Parse and validate client frames into typed commands, or a clear error.

Pure: no Django, no Channels. Frames come from htmx's ws extension, in the shape of the
htmx the page runs (``unwrap``), or from any JSON client (numbers as numbers). Every
rejection names what was wrong and which panel of the page it belongs to.
"""

import json
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from streams.choices import Mode, ThreadModel, Work

MAX_FRAME_BYTES = 64 * 1024
COUNT_RANGE = (1, 10_000)
INTERVAL_RANGE = (0.01, 60.0)
STREAMS_RANGE = (1, 16)
COST_RANGE = (1, 1000)  # ms of work per tick
FREEZING_COST = 250  # ms at most for work that holds the event loop (Work.freezes)
DEFAULT_COST = 50  # ms, for a client that names a costed work and no cost
MAX_CHAT_CHARS = 500

# The form ids in templates/streams/dashboard.html, so that even a frame whose action is
# unreadable gets its error shown in the panel that sent it.
PANEL_BY_FORM = {"start-sync": "sync", "start-async": "async", "chat-form": "chat"}
ROOM_PANEL = "room"


class Refusal(ValueError):
    """What the server will not do, said to the user: a bad frame, or a command that the
    room's rules refuse. ``panel`` is where the page shows it."""

    def __init__(self, message: str, panel: str = ROOM_PANEL) -> None:
        super().__init__(message)
        self.message = message
        self.panel = panel


@dataclass(frozen=True)
class Start:
    mode: Mode
    count: int
    interval: float
    streams: int
    work: Work = Work.SLEEP
    cost: int = 0  # ms per tick, for costed work

    @property
    def panel(self) -> str:
        return self.mode.value


@dataclass(frozen=True)
class Stop:
    number: int
    panel: str = ROOM_PANEL


@dataclass(frozen=True)
class Reset:
    panel: str = ROOM_PANEL


@dataclass(frozen=True)
class Chat:
    text: str
    panel: str = "chat"


@dataclass(frozen=True)
class SetThreadModel:
    model: ThreadModel
    panel: str = ROOM_PANEL


RoomCommand = Start | Stop | Reset | Chat | SetThreadModel


@dataclass(frozen=True)
class Ack:
    """The viewer has read ``read`` characters of what its connection sent it: flow
    control for the connection (streams/limits.py ``Unread``), not a room command."""

    read: int
    panel: str = ROOM_PANEL


MAX_READ = 2**53  # what a page's JavaScript number counts exactly


@dataclass(frozen=True)
class Run:
    """A producer's order: run registered stream ``number``, or a new one of
    ``count`` ticks every ``interval`` seconds."""

    number: int | None = None
    count: int = 0
    interval: float = 0.0
    work: Work = Work.SLEEP
    cost: int = 0


def parse_room_frame(text: str | None, data: bytes | None = None) -> RoomCommand | Ack:
    payload, headers = unwrap(_load(text, data))
    panel = _panel(headers)
    action = payload.get("action")
    match action:
        case "start":
            mode = _mode(payload.get("mode"), panel)
            panel = mode.value
            count = _int(payload, "count", COUNT_RANGE, "Ticks", panel)
            interval = _interval(payload, panel)
            work, cost = _work(payload, mode, interval, panel)
            return Start(
                mode=mode,
                count=count,
                interval=interval,
                streams=_int(payload, "streams", STREAMS_RANGE, "Streams at once", panel),
                work=work,
                cost=cost,
            )
        case "stop":
            return Stop(number=_number(payload, panel))
        case "reset":
            return Reset()
        case "chat":
            return Chat(text=_chat_text(payload.get("text")))
        case "ack":
            return Ack(read=_int(payload, "read", (0, MAX_READ), "Characters read", panel))
        case "thread_model":
            try:
                return SetThreadModel(model=ThreadModel(str(payload.get("model"))))
            except ValueError:
                choices = ", ".join(m.value for m in ThreadModel)
                raise Refusal(f"Thread model must be one of: {choices}.") from None
        case _:
            raise Refusal(f"Unknown action {_shown(action)}.", panel)


def parse_producer_frame(text: str | None, data: bytes | None, mode: Mode) -> Run:
    """A producer connection's ``run``: of a stream the room registered, or of its own
    (``count``, ``interval``, and optionally ``work`` and ``cost``) for ``mode``."""
    payload, _headers = unwrap(_load(text, data))
    if payload.get("action") != "run":
        raise Refusal(f"Unknown action {_shown(payload.get('action'))}; send 'run'.")
    if payload.get("stream") is not None:
        return Run(number=_number(payload, ROOM_PANEL))
    count = _int(payload, "count", COUNT_RANGE, "Ticks", ROOM_PANEL)
    interval = _interval(payload, ROOM_PANEL)
    work, cost = _work(payload, mode, interval, ROOM_PANEL)
    return Run(count=count, interval=interval, work=work, cost=cost)


def _work(payload: dict[str, Any], mode: Mode, interval: float, panel: str) -> tuple[Work, int]:
    """The work a stream does each tick, and its cost in ms (0 for work without one)."""
    value = payload.get("work") or Work.SLEEP.value
    try:
        work = Work(value)
    except ValueError:
        choices = ", ".join(w.value for w in Work)
        raise Refusal(f"Work must be one of: {choices}; not {_shown(value)}.", panel) from None
    if work.async_only and mode is not Mode.ASYNC:
        raise Refusal(
            f"{work.value} is async work: {work.label}, in an AsyncConsumer. Start it in the "
            "Async column.",
            panel,
        )
    if not work.costed:
        return work, 0
    if payload.get("cost") in (None, ""):
        cost = DEFAULT_COST
    else:
        cost = _int(payload, "cost", COST_RANGE, "Cost (ms per tick)", panel)
    if work.freezes(mode) and cost > FREEZING_COST:
        raise Refusal(
            f"{work.value} in async code freezes every page on this server for its cost: at "
            f"most {FREEZING_COST} ms, not {cost}.",
            panel,
        )
    if cost >= interval * 1000:
        raise Refusal(
            f"Cost must be below the interval: {cost} ms of work every {interval:g} s cannot "
            "keep time.",
            panel,
        )
    return work, cost


def _load(text: str | None, data: bytes | None) -> dict[str, Any]:
    if text is None:
        raise Refusal("Binary frames are not accepted: send JSON text.")
    if len(text.encode()) > MAX_FRAME_BYTES:
        raise Refusal(f"Message too large: the limit is {MAX_FRAME_BYTES // 1024} KiB.")
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested past the C stack
        raise Refusal("Malformed JSON: send one JSON object.") from None
    if not isinstance(payload, dict):
        raise Refusal("Send one JSON object, not a list or a bare value.")
    return payload


def unwrap(frame: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A frame's values and the htmx request headers it carries (none from other clients).

    htmx 2's ws extension sends the form's values with the headers beside them, under
    ``HEADERS``; htmx 4's sends ``{"headers": {...}, "body": {values}}``
    (tests/unit/test_frames.py has a real frame of each).
    """
    headers, body = frame.get("headers"), frame.get("body")
    if isinstance(headers, dict) and isinstance(body, dict):  # htmx 4
        return body, headers
    headers = frame.get("HEADERS")
    if isinstance(headers, dict):  # htmx 2
        return {key: value for key, value in frame.items() if key != "HEADERS"}, headers
    return frame, {}


def _panel(headers: dict[str, Any]) -> str:
    """The panel of the form that sent the frame: htmx 2 names it by its id (``HX-Trigger:
    start-sync``), htmx 4 by its tag and id (``HX-Source: form#start-sync``)."""
    source = headers.get("HX-Trigger") or headers.get("HX-Source")
    if not isinstance(source, str):
        return ROOM_PANEL
    return PANEL_BY_FORM.get(unquote(source.rpartition("#")[2]), ROOM_PANEL)


def _mode(value: Any, panel: str) -> Mode:
    try:
        return Mode(value)
    except ValueError:
        raise Refusal(f"Mode must be 'sync' or 'async', not {_shown(value)}.", panel) from None


def _int(payload: dict[str, Any], key: str, bounds: tuple[int, int], label: str, panel: str) -> int:
    value = payload.get(key)
    low, high = bounds
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and is_small_number(value.strip()):
        number = int(value.strip())
    if number is None:
        raise Refusal(f"{label} must be a whole number, not {_shown(value)}.", panel)
    if not low <= number <= high:
        raise Refusal(f"{label} must be between {low} and {high}, not {number}.", panel)
    return number


def is_small_number(text: str) -> bool:
    """ASCII digits short enough for int() to be cheap and never to raise (Python refuses
    to parse over 4300 digits)."""
    return text.isascii() and text.isdigit() and len(text) <= 12


def _interval(payload: dict[str, Any], panel: str) -> float:
    value = payload.get("interval")
    low, high = INTERVAL_RANGE
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and value.strip().isascii() and len(value) <= 32:
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None:
        raise Refusal(f"Interval must be a number of seconds, not {_shown(value)}.", panel)
    if not math.isfinite(number):
        raise Refusal("Interval must be a finite number of seconds.", panel)
    if not low <= number <= high:
        raise Refusal(f"Interval must be between {low} and {high:g} s, not {number:g}.", panel)
    return number


def _number(payload: dict[str, Any], panel: str) -> int:
    return _int(payload, "stream", (1, 2**31), "Stream number", panel)


def _chat_text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Refusal("Type a message first.", "chat")
    text = value.strip()
    if len(text) > MAX_CHAT_CHARS:
        raise Refusal(
            f"Chat messages are at most {MAX_CHAT_CHARS} characters, not {len(text)}.", "chat"
        )
    return text


def _shown(value: Any) -> str:
    """A short, quoted rendering of a bad value for an error message."""
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."
