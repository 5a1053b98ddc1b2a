"""A plain reading of what the room's latest runs showed, derived from their figures.

Pure: it reads plain attributes of finished runs (``StreamRun`` rows, or anything shaped
like them) and returns sentences, each with the anchor of the section of the explanation
page (templates/streams/explain.html) that says why. Nothing is canned: a sentence appears
only when the runs show what it says, with their own figures.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from streams.choices import Mode, ThreadModel, Work

WAITED = 0.5  # seconds: a start later than this was a wait, not a handshake
HELD = 0.2  # seconds: work that took this long waited for something
LAG = 0.05  # seconds of event-loop lag that every page of the process feels


class RunFacts(Protocol):
    number: int
    mode: str
    thread_model: str
    work: str
    cost: int
    waited: float | None
    started_at: datetime | None
    ended_at: datetime | None
    work_max: float | None
    loop_lag_max: float | None


@dataclass(frozen=True)
class Finding:
    text: str
    anchor: str  # a section of the explanation page


def _overlap(a: RunFacts, b: RunFacts) -> bool:
    if None in (a.started_at, a.ended_at, b.started_at, b.ended_at):
        return False
    assert a.started_at and a.ended_at and b.started_at and b.ended_at
    return a.started_at < b.ended_at and b.started_at < a.ended_at


def _s(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def read(runs: Sequence[RunFacts]) -> list[Finding]:
    """What ``runs`` (the room's latest, newest first) showed, most telling first."""
    started = [r for r in runs if r.waited is not None]

    def of(mode: Mode, model: ThreadModel, *works: Work) -> list[RunFacts]:
        names = {w.value for w in works} or {w.value for w in Work}
        return [
            r for r in started if r.mode == mode and r.thread_model == model and r.work in names
        ]

    found: list[Finding] = []
    sync_shared = of(Mode.SYNC, ThreadModel.SHARED)
    queued = [r for r in sync_shared if (r.waited or 0) >= WAITED]
    if queued:
        waits = ", ".join(
            _s(r.waited or 0) for r in sorted(sync_shared, key=lambda r: r.waited or 0)
        )
        found.append(
            Finding(
                f"{_plural(len(sync_shared), 'sync stream')} under the Channels default waited "
                f"{waits} to start: all sync consumers of a process share one thread, so each "
                "waited for the loops before it.",
                "shared-thread",
            )
        )
    async_shared = of(Mode.ASYNC, ThreadModel.SHARED)
    held = [r for r in async_shared if (r.waited or 0) >= WAITED]
    if held:
        worst = max(held, key=lambda r: r.waited or 0)
        loops = [s for s in sync_shared if any(_overlap(s, a) for a in held)] or sync_shared
        found.append(
            Finding(
                f"async streams waited up to {_s(worst.waited or 0)} to start: every default "
                "AsyncConsumer waits for the shared sync thread before each message (Channels "
                f"4.2 and later), and {_plural(len(loops), 'sync loop')} held it.",
                "aclose",
            )
        )
    for run in of(Mode.ASYNC, ThreadModel.SHARED, Work.QUERY):
        if (run.work_max or 0) >= HELD:
            found.append(
                Finding(
                    f"acount() in async stream #{run.number} took up to {_s(run.work_max or 0)}: "
                    "Django's async ORM runs on the shared sync thread, and queued behind a "
                    "sync loop.",
                    "async-orm",
                )
            )
            break
    own = [r for r in of(Mode.ASYNC, ThreadModel.PER_CONNECTION, Work.QUERY) if r.work_max]
    if own:
        worst_own = max(r.work_max or 0 for r in own)
        found.append(
            Finding(
                f"under a thread per connection, acount() took at most {_s(worst_own)}: it "
                "ran on its connection's own thread, behind nothing.",
                "async-orm",
            )
        )
    freezing = [
        r for r in started if Work(r.work).freezes(Mode(r.mode)) and (r.loop_lag_max or 0) >= LAG
    ]
    if freezing:
        worst = max(freezing, key=lambda r: r.loop_lag_max or 0)
        found.append(
            Finding(
                f"event-loop lag reached {_s(worst.loop_lag_max or 0)} during stream "
                f"#{worst.number} ({worst.work} in async): every page on this process was "
                "late by as much.",
                "event-loop",
            )
        )
    calm = [r for r in started if r.work == Work.OFFLOAD and r.loop_lag_max is not None]
    if calm:
        run = calm[0]
        found.append(
            Finding(
                f"stream #{run.number} slept {run.cost} ms a tick through sync_to_async("
                f"thread_sensitive=False), and the event-loop lag stayed at "
                f"{_s(run.loop_lag_max or 0)}: the blocking call ran in a thread of its own.",
                "offload",
            )
        )
    together = of(Mode.SYNC, ThreadModel.PER_CONNECTION)
    if len(together) >= 2 and all((r.waited or 0) < WAITED for r in together):
        found.append(
            Finding(
                f"with a thread per connection, {_plural(len(together), 'sync stream')} started "
                f"within {_s(max(r.waited or 0 for r in together))}: each connection had a "
                "thread of its own.",
                "thread-per-connection",
            )
        )
    http = [r for r in started if r.work == Work.HTTP and r.mode == Mode.ASYNC]
    if len(http) >= 2 and any(_overlap(a, b) for a in http for b in http if a is not b):
        found.append(
            Finding(
                f"{_plural(len(http), 'async stream')} waited on HTTP at once: "
                "httpx.AsyncClient leaves the event loop free while it waits.",
                "http",
            )
        )
    return found
