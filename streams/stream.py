"""One stream's live record and its state changes: plain values, no I/O.

A record is created ``waiting`` when a viewer asks for it, becomes ``running`` when a
producer connection claims it, and ends ``done`` or ``stopped``. ``orphaned`` is a sync
stream still looping after its client left; anyone can stop it.
"""

from dataclasses import dataclass, field, replace
from enum import StrEnum


class Mode(StrEnum):
    SYNC = "sync"
    ASYNC = "async"


class ThreadModel(StrEnum):
    SHARED = "shared"
    PER_CONNECTION = "per_connection"

    @property
    def label(self) -> str:
        if self is ThreadModel.SHARED:
            return "Channels default (one shared thread)"
        return "A thread per connection"

    @property
    def short_label(self) -> str:
        return "shared" if self is ThreadModel.SHARED else "own thread"


class State(StrEnum):
    WAITING = "waiting"
    RUNNING = "running"
    ORPHANED = "orphaned"
    DONE = "done"
    STOPPED = "stopped"


# Why a stream ended stopped, as its card and the history say.
STOPPED_BY_USER = "stopped from the dashboard"
CLIENT_LEFT = "its client left"

LIVE_STATES = frozenset({State.WAITING, State.RUNNING, State.ORPHANED})
RECENT_TICKS = 60  # lateness values kept for the sparkline


@dataclass(frozen=True)
class Stream:
    room: str
    number: int
    mode: Mode
    count: int
    interval: float
    created_at: float
    state: State = State.WAITING
    thread_model: ThreadModel | None = None  # the model it actually ran under
    attempts: int = 0  # producer handshakes seen for it
    seq: int = 0  # last tick sent
    started_at: float | None = None
    ended_at: float | None = None
    recent_lateness: tuple[float, ...] = field(default=())
    max_lateness: float = 0.0
    note: str = ""

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_STATES

    @property
    def progress_percent(self) -> int:
        return int(100 * self.seq / self.count)

    @property
    def waited(self) -> float | None:
        """Seconds from the request to the producer starting it."""
        return None if self.started_at is None else self.started_at - self.created_at

    def elapsed(self, now: float) -> float:
        if self.started_at is None:
            return 0.0
        return (self.ended_at or now) - self.started_at

    def attempted(self) -> "Stream":
        return replace(self, attempts=self.attempts + 1)

    def started(self, now: float, thread_model: ThreadModel) -> "Stream":
        return replace(self, state=State.RUNNING, started_at=now, thread_model=thread_model)

    def ticked(self, seq: int, lateness: float, orphaned: bool) -> "Stream":
        recent = (*self.recent_lateness, lateness)[-RECENT_TICKS:]
        return replace(
            self,
            seq=seq,
            state=State.ORPHANED if orphaned else self.state,
            recent_lateness=recent,
            max_lateness=max(self.max_lateness, lateness),
        )

    def ended(self, state: State, now: float, note: str = "") -> "Stream":
        return replace(self, state=state, ended_at=now, note=note or self.note)
