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


# How much a viewer reads between two acknowledgements ({"action": "ack", "read": N}): the
# page's script and streams.client.Viewer both ack every time they have read this many
# more characters.
ACK_EVERY = 256 * 1024


@dataclass
class Unread:
    """What a connection sent its client and has not heard it read, in characters.

    A client that stops reading (a stalled tab, a dead network) does not stop the server
    writing: Daphne buffers whatever the socket will not take, without bound. Each viewer
    says how much it has read; a connection whose unread characters pass ``limit`` is one
    whose client is not keeping up, and is closed. Cooperative: a client that acks what it
    never read is left to Daphne's ping. Characters, not bytes: the fragments are ASCII but
    for user text (chat, at most 500 characters a line), up to 4 bytes a character.
    """

    limit: int
    sent: int = 0
    read: int = 0

    @property
    def unread(self) -> int:
        return self.sent - self.read

    def send(self, size: int) -> bool:
        """Count ``size`` more characters sent, if the unread ones stay within the limit;
        if they would pass it, False, and nothing counted."""
        if self.unread + size > self.limit:
            return False
        self.sent += size
        return True

    def ack(self, read: int) -> None:
        """The client has read ``read`` characters in all. It cannot have read more than
        was sent (a client counting UTF-16 units may say so), and never reads less."""
        self.read = max(self.read, min(read, self.sent))
