"""Pure: which tick a fragment carries, and when that tick was due.

A viewer sees ticks only as HTML: the card body ``id="stream-N-body"`` with ``data-seq``.
Its due time is the schedule's start plus ``seq * interval``; where the start comes from is
decided in one place, ``schedule_start``, so it can switch to an exact field of the events.
"""

import re
from collections.abc import Iterable, Mapping
from typing import Any

BODY = re.compile(rb'id="stream-(\d+)-body"[^>]*?data-seq="(\d+)"')


def bodies(frame: bytes) -> list[tuple[int, int]]:
    """(stream, seq) of every card body in a frame: a tick's fragment holds one, a stream's
    whole card one, a snapshot one per card. Seq 0 is a card before its first tick."""
    return [(int(number), int(seq)) for number, seq in BODY.findall(frame)]


def schedule_start(
    asked_at: float,
    ticks: Iterable[Mapping[str, Any]],
    interval: float,
    wall_minus_monotonic: float,
) -> float:
    """When the stream's schedule started, on this process's monotonic clock.

    A tick event that carries ``scheduled`` (its due time on the server's wall clock) gives
    it exactly. Without one, ``asked_at``, when the producer's client sent ``run``: the
    schedule cannot start before the server has that frame, so lateness measured from it
    errs high, by the server's handling of ``run`` (a claim in the cache, well under 10 ms
    on an idle server), and never flatters. The events' own figures give no better bound:
    each is sent after the fan-out it reports on, so it would shrink the lateness of a slow
    fan-out by just the time it took.
    """
    for event in ticks:
        if event.get("scheduled") is not None:
            return float(event["scheduled"]) - wall_minus_monotonic - event["seq"] * interval
    return asked_at


def scheduled_at(start: float, seq: int, interval: float) -> float:
    """When tick ``seq`` (1-based) was due."""
    return start + seq * interval
