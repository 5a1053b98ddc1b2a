"""The geometry of the page's inline SVG charts, as pure functions of plain values.

Three charts draw from here: a card's sparkline of its recent lateness, the gauges'
sparkline of the last minute, and the room's timeline of its streams. The templates draw
what these compute (templates/streams/dashboard.html); nothing here renders or reads a clock.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from streams.choices import Mode
from streams.stream import State, Stream


def sparkline_points(values: Sequence[float], width: int, height: int, floor: float) -> str:
    """SVG polyline points for ``values``, scaled so that ``floor`` or the largest value
    (whichever is bigger) touches the top; higher on the chart means later."""
    if not values:
        return ""
    top = max(floor, *values)
    step = width / max(1, len(values) - 1)
    points = []
    for i, value in enumerate(values):
        y = height - (min(max(value, 0.0), top) / top) * height
        points.append(f"{_short(i * step)},{_short(y)}")
    return " ".join(points)


def _short(value: float) -> str:
    """A coordinate to a whole unit: every tick sends a sparkline to every viewer, and a
    chart 120 units wide, drawn about that many pixels wide, needs no more."""
    return str(round(value))


def series_points(
    samples: Iterable[tuple[float, float]],
    now: float,
    span: float,
    size: tuple[int, int],
    top: float,
) -> str:
    """SVG polyline points for (time, value) ``samples`` of the last ``span`` seconds before
    ``now``, ``now`` at the right edge, ``top`` at the top of a ``size`` (width, height) box."""
    width, height = size
    points = []
    for at, value in samples:
        x = width - (now - at) / span * width
        if x < 0:
            continue
        y = height - min(max(value, 0.0), top) / top * height
        points.append(f"{_short(x)},{_short(y)}")
    return " ".join(points)


@dataclass(frozen=True)
class Bar:
    """One stream on the timeline, in the chart's units: a row of ``ROW`` from ``y``, its
    wait and its run each as (x, width), and the x of each tick sent."""

    number: int
    mode: Mode
    state: State
    label: str
    y: float
    waiting: tuple[float, float]  # from its request to its start (or now, or its end)
    running: tuple[float, float] | None  # from its start to its end (or now)
    ticks: tuple[float, ...]  # at most ``MAX_TICKS`` of them

    @property
    def tick_path(self) -> str:
        """The ticks as one SVG path of short strokes: a stroke each costs a dozen bytes,
        a ``<line>`` element each seventy, sent to every viewer with every redraw."""
        return "".join(f"M{_short(x)} {_short(self.y)}v{ROW - 1}" for x in self.ticks)


@dataclass(frozen=True)
class Timeline:
    bars: list[Bar]
    axis: list[tuple[float, str]]  # (x, label) of each second mark
    width: float
    span: float  # seconds the chart covers

    @property
    def height(self) -> float:
        return len(self.bars) * ROW

    @property
    def view_box(self) -> str:
        """Room on the left for the labels, below for the axis."""
        return f"{-LABELS} -2 {self.width + LABELS + 10} {self.height + 16}"


MAX_TICKS = 60  # tick marks drawn per bar: enough to see them, few enough to stay small
ROW, LABELS = 14, 110  # a bar's height and the labels' width, in x units


def timeline(streams: Sequence[Stream], now: float, width: float = 600.0) -> Timeline:
    """The room's streams from the first request to now (or to the last end, if none is
    live), one bar each, oldest first; ``width`` x units for the whole span."""
    if not streams:
        return Timeline([], [], width, 0.0)
    start = min(s.created_at for s in streams)
    live = any(s.is_live for s in streams)
    end = now if live else max((s.ended_at or now) for s in streams)
    span = max(end - start, 1.0)

    def x(at: float) -> float:
        return round((min(max(at, start), end) - start) / span * width, 1)

    def extent(a: float, b: float) -> tuple[float, float]:
        return x(a), max(round(x(b) - x(a), 1), 0.5)  # a bar at least half a unit wide

    bars = []
    for row, stream in enumerate(streams):
        last = stream.ended_at if stream.ended_at is not None else end
        began = stream.started_at
        ticks: tuple[float, ...] = ()
        if began is not None and stream.seq:
            step = max(1, math.ceil(stream.seq / MAX_TICKS))
            ticks = tuple(
                x(began + seq * stream.interval) for seq in range(step, stream.seq + 1, step)
            )
        bars.append(
            Bar(
                number=stream.number,
                mode=stream.mode,
                state=stream.state,
                label=f"#{stream.number} {stream.mode} {stream.work}",
                y=row * ROW,
                waiting=extent(stream.created_at, began if began is not None else last),
                running=extent(began, last) if began is not None else None,
                ticks=ticks,
            )
        )
    return Timeline(bars, _axis(span, width), width, span)


def _axis(span: float, width: float) -> list[tuple[float, str]]:
    """A mark every 1, 2, 5, 10, ... seconds, about ten across."""
    steps = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600)
    step = next((s for s in steps if span / s <= 12), math.ceil(span / 12))
    marks = []
    second = 0
    while second <= span:
        marks.append((round(second / span * width, 1), f"{second} s"))
        second += step
    return marks
