"""When a hub hands an event on: at once, or with the others at the end of a flush window.

Pure: the clock is an argument. A server's cost is per WebSocket frame, and a room of eight
streams at 10 ticks a second was 80 frames a second for each viewer; events that come
together go out together, as one frame. A quiet room pays nothing for it: an event that
finds no delivery in the last window goes out at once, so one stream's ticks, 100 ms apart,
wait for nothing, and one that comes sooner waits for the window's end. Once events have
come together, the room is busy for ``BUSY`` seconds: each event that opens a window
then waits its whole length, so that ticks falling due together (eight streams started at
once) go out as one frame, not as the first alone and the rest together.
"""

from dataclasses import dataclass

BUSY = 1.0  # seconds a room stays busy once events have come together


@dataclass
class Window:
    length: float  # seconds; 0: every event at once
    delivered_at: float = float("-inf")
    busy_until: float = float("-inf")

    def due(self, now: float) -> float | None:
        """When an event that comes at ``now``, with none waiting, goes out: ``None`` for at
        once, or the end of the window it waits in (events that come before then join it)."""
        if self.length <= 0:
            return None
        if now < self.busy_until:
            return now + self.length  # busy: the window opens with its first event
        if now - self.delivered_at < self.length:
            return self.delivered_at + self.length  # quiet: at most one delivery a window
        return None

    def delivered(self, now: float, events: int) -> None:
        """``events`` went out at ``now``, as one delivery."""
        self.delivered_at = now
        if events > 1:
            self.busy_until = now + BUSY
