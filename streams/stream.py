"""One stream's live record and its state changes: plain values, no I/O.

A record is created ``waiting`` when a viewer asks for it, becomes ``running`` when a
producer connection claims it, and ends ``done``, ``stopped`` or ``failed``. ``orphaned``
is a sync stream still looping after its client left; anyone can stop it.
"""

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from enum import StrEnum

from streams.choices import Mode, Outcome, ThreadModel, Work
from streams.schedule import LatenessSummary


class State(StrEnum):
    WAITING = "waiting"
    RUNNING = "running"
    ORPHANED = "orphaned"
    DONE = "done"
    STOPPED = "stopped"
    FAILED = "failed"


# Why a stream ended stopped, as its card and the history say.
STOPPED_BY_USER = "stopped from the dashboard"
CLIENT_LEFT = "its client left"
SERVER_STOPPED = "the server stopped"
# The events that end a stream, whichever way it ended (streams/events.py sends them).
END_EVENTS = frozenset({"stream.finished", "stream.stopped", "stream.failed"})

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
    p95_lateness: float = 0.0
    max_lateness: float = 0.0
    scheduled_at: float | None = None  # the last tick's due time, wall clock
    sent_at: float | None = None  # when the last tick was sent, wall clock
    orphaned: bool = False  # its client left while it ran
    note: str = ""
    source: str = ""  # where it was started from, when not from a dashboard page
    # The server process that answers for it: the one that registered it, then the one its
    # producer's handshake reached, then the one running it. If that process is gone, no
    # tick or start will come (streams/sweeping.py ends it).
    process: str = ""
    work: Work = Work.SLEEP  # what it does once per tick before it sends
    cost: int = 0  # ms per tick, for costed work
    work_last: float | None = None  # seconds the last tick's work took
    work_max: float = 0.0

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

    @property
    def last_heard(self) -> float | None:
        """When its producer last said something: its last tick, or its start."""
        return self.sent_at or self.started_at

    def is_abandoned(self, alive: Collection[str]) -> bool:
        """Live, but the process that answers for it is not among the ``alive`` ones (a
        restart, a crash): nothing will run it or end it. A record that names no process
        is from before processes were named, and so from a process that has restarted."""
        return self.is_live and self.process not in alive

    def abandoned(self, now: float) -> "Stream":
        """Ended as failed, its process gone: a running one when it was last heard of."""
        if self.last_heard is None:
            return self.ended(State.FAILED, now, "its server process stopped before it started")
        silent = now - self.last_heard
        note = f"its server process stopped: no word from it for {silent:.0f} s"
        return self.ended(State.FAILED, self.last_heard, note)

    def elapsed(self, now: float) -> float:
        if self.started_at is None:
            return 0.0
        return (self.ended_at or now) - self.started_at

    def attempted(self, process: str = "") -> "Stream":
        """A producer handshake for it reached ``process``, which now answers for it."""
        return replace(self, attempts=self.attempts + 1, process=process or self.process)

    def started(self, now: float, thread_model: ThreadModel, process: str = "") -> "Stream":
        return replace(
            self,
            state=State.RUNNING,
            started_at=now,
            thread_model=thread_model,
            process=process or self.process,
        )

    @property
    def outcome(self) -> Outcome | None:
        """How it ended; ``None`` while it is live."""
        match self.state:
            case State.FAILED:
                return Outcome.FAILED
            case _ if self.orphaned and not self.is_live:
                return Outcome.ORPHANED
            case State.DONE:
                return Outcome.FINISHED
            case State.STOPPED:
                return Outcome.STOPPED
        return None

    def ticked(
        self,
        seq: int,
        lateness: float,
        summary: LatenessSummary,
        scheduled_at: float,
        sent_at: float,
        work: float = 0.0,
    ) -> "Stream":
        """Tick ``seq`` went out at ``sent_at``, ``lateness`` after ``scheduled_at``, its
        work having taken ``work`` s; ``summary`` covers every tick so far."""
        return replace(
            self,
            seq=seq,
            work_last=work,
            work_max=max(self.work_max, work),
            recent_lateness=(*self.recent_lateness, lateness)[-RECENT_TICKS:],
            p95_lateness=summary.p95,
            max_lateness=summary.max,
            scheduled_at=scheduled_at,
            sent_at=sent_at,
        )

    def heard(
        self, stop: bool, orphaned: bool, now: float, server_stopping: bool = False
    ) -> "Stream":
        """What the flags a running loop reads before each tick make of it: *orphaned* once
        its client is known gone, *stopped* when anyone asked or the server is stopping."""
        stream = self.orphan() if orphaned and not self.orphaned else self
        if server_stopping:
            return stream.ended(State.STOPPED, now, SERVER_STOPPED)
        return stream.ended(State.STOPPED, now, STOPPED_BY_USER) if stop else stream

    def orphan(self) -> "Stream":
        """Its client is gone; the loop goes on, shown as orphaned."""
        state = State.ORPHANED if self.is_live else self.state
        return replace(self, state=state, orphaned=True)

    def ended(self, state: State, now: float, note: str = "") -> "Stream":
        return replace(self, state=state, ended_at=now, note=note or self.note)
