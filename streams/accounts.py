"""A page's account of the room's streams: what it was sent of each, what it missed, and
so what it is sent of each event. Pure: no I/O; the viewer (streams/viewer.py) sends what
this says and reports what it returns.

Every viewer forwards the html an event carries, rendered once by whoever sent it; what a
page adds is its own: it skips a tick older than what it shows (queued before its snapshot),
appends its count of missed ticks once it has any, and at a stream's end reports what
reached it.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from streams import fragments
from streams.stream import END_EVENTS, Stream

UPDATES = frozenset({"stream.attempt", "stream.started", "stream.tick"})


@dataclass
class Delivery:
    """What one viewer got of one stream, from the sequence numbers it saw.

    ``last`` starts at the last tick sent before it listened (a late joiner's snapshot):
    ticks before it are not lost, only unseen. A tick at or below the last one seen is
    stale (queued before a snapshot) and is not counted again.
    """

    last: int = 0
    received: int = 0
    lost: int = 0

    def tick(self, seq: int) -> bool:
        """Note tick ``seq``; False when it is stale and should not be shown."""
        if seq <= self.last:
            return False
        self.lost += seq - self.last - 1
        self.last = seq
        self.received += 1
        return True

    def ended(self, final_seq: int) -> None:
        """The stream ended after tick ``final_seq``: ticks after the last seen are lost."""
        if final_seq > self.last:
            self.lost += final_seq - self.last
            self.last = final_seq


@dataclass(frozen=True)
class Report:
    """What reached one page of a stream that ended (live.report_delivery)."""

    number: int
    received: int
    lost: int


class Account:
    def __init__(self) -> None:
        self.deliveries: dict[int, Delivery] = {}

    def snapshot(self, streams: Iterable[Stream]) -> None:
        """The page was sent the room as it is: it counts each live stream's ticks from
        the last one sent."""
        self.deliveries = {s.number: Delivery(last=s.seq) for s in streams if s.is_live}

    def fragment(self, event: Mapping[str, Any]) -> tuple[str, Report | None]:
        """What this page is sent of ``event`` (maybe nothing), and what to report."""
        kind = event["type"]
        if kind == "stream.waiting":
            number = event["stream"]
            if number in self.deliveries:  # the snapshot already showed its card
                return "", None
            self.deliveries[number] = Delivery()
            return event["html"], None
        if kind in UPDATES:
            number, seq = event["stream"], event["seq"]
            delivery = self.deliveries.setdefault(number, Delivery(last=max(0, seq - 1)))
            fresh = delivery.tick(seq) if kind == "stream.tick" else seq >= delivery.last
            return (event["html"] + _lost(number, delivery)) if fresh else "", None
        if kind in END_EVENTS:
            number = event["stream"]
            ended = self.deliveries.pop(number, None)
            if ended is None:
                return event["html"], None
            ended.ended(event["seq"])
            report = Report(number, ended.received, ended.lost)
            return event["html"] + _lost(number, ended), report
        return event["html"], None


def _lost(number: int, delivery: Delivery) -> str:
    """This page's own count of missed ticks, sent after the body every viewer shares."""
    return fragments.lost(number, delivery.lost) if delivery.lost else ""
