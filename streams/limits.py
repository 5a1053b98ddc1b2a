"""Limits that turn overload into a clear refusal: pure, on a clock the caller passes in."""

from collections import deque
from dataclasses import dataclass, field


@dataclass
class RateLimit:
    """At most ``limit`` events in any ``window`` seconds."""

    limit: int
    window: float
    _times: deque[float] = field(default_factory=deque)

    def allow(self, now: float) -> bool:
        """Count an event at ``now`` if the window has room for it."""
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()
        if len(self._times) >= self.limit:
            return False
        self._times.append(now)
        return True

    def retry_after(self, now: float) -> float:
        """Seconds until ``allow`` would say yes."""
        if len(self._times) < self.limit:
            return 0.0
        return max(0.0, self._times[0] + self.window - now)


def viewer_refusal(viewers: int, limit: int) -> str | None:
    """Why one more viewer may not connect to a process holding ``viewers``, if it may not."""
    if viewers < limit:
        return None
    return f"This server process has its limit of {limit} viewers; try again later."
