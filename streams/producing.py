"""What a producer connection may run: claiming a stream, and the per-process limit.

Plain synchronous functions on the live store; the async producer calls their off-thread
twins so that, like the viewer, it never queues on the shared
sync thread for bookkeeping.
"""

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from asgiref.typing import WebSocketScope
from django.conf import settings
from django.db.models import Max

from streams import live, metrics
from streams.choices import Mode, ThreadModel, Work
from streams.frames import Refusal, Run, parse_producer_frame
from streams.live import STORE_DOWN
from streams.models import StreamRun
from streams.process import PROCESS, SHUTDOWN, closing_connections, off_thread
from streams.rooms import room_from_scope
from streams.stream import State, Stream

log = logging.getLogger(__name__)


class ProcessSlots:
    """Streams running in this process, bounded: overload is a refusal, not a hang."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = 0

    def acquire(self) -> None:
        limit = settings.DASHBOARD_MAX_STREAMS_PER_PROCESS
        with self._lock:
            if self.running >= limit:
                raise Refusal(
                    f"This server process already runs {self.running} streams, its limit; "
                    "stop some or wait for them to finish."
                )
            self.running += 1

    def release(self) -> None:
        with self._lock:
            self.running -= 1


SLOTS = ProcessSlots()


def register(
    room: str,
    mode: Mode,
    count: int,
    interval: float,
    how_many: int,
    source: str = "",
    work: Work = Work.SLEEP,
    cost: int = 0,
) -> list[Stream]:
    """New ``waiting`` streams, if the room has room for them; ``source`` says where they
    were started from, when not from a dashboard page."""
    limit = settings.DASHBOARD_MAX_STREAMS_PER_ROOM
    live_streams = [s for s in live.streams(room) if s.is_live]
    if len(live_streams) + how_many > limit:
        raise Refusal(
            f"A room runs at most {limit} streams at once and {len(live_streams)} are live "
            f"here; stop some or reset before starting {how_many} more.",
            mode.value,
        )
    if work.freezes(mode):
        freezing = sum(1 for s in live_streams if s.work.freezes(s.mode))
        most = settings.DASHBOARD_MAX_FREEZING_PER_ROOM
        if freezing + how_many > most:
            raise Refusal(
                f"A room runs at most {most} streams at once that freeze the event loop "
                f"(cpu or blocking in async) and {freezing} are live here.",
                mode.value,
            )
    now = time.time()
    # Asked only when the cache has forgotten the room; this thread may be a pooled one.
    last_recorded = closing_connections(_last_recorded)
    numbers = live.next_numbers(room, how_many, floor=lambda: last_recorded(room))
    created = [
        Stream(
            room=room,
            number=n,
            mode=mode,
            count=count,
            interval=interval,
            created_at=now,
            source=source,
            process=PROCESS,
            work=work,
            cost=cost,
        )
        for n in numbers
    ]
    live.beat(PROCESS, settings.DASHBOARD_PRESENCE_LEASE)  # they name this process: alive
    for stream in created:
        live.save(stream)
    return created


def _last_recorded(room: str) -> int:
    """The highest stream number in the room's history: numbers go on from there, so a
    restarted server does not give a new stream the number of a recorded one."""
    found = StreamRun.objects.filter(room=room).aggregate(last=Max("number"))["last"]
    return found or 0


class RunRefused(Refusal):
    """A producer may not run the stream; ``stopped`` is the stream this ended, if any."""

    def __init__(self, message: str, stopped: Stream | None = None) -> None:
        super().__init__(message)
        self.stopped = stopped


def claim(room: str, mode: Mode, run: Run, thread_model: ThreadModel, source: str = "") -> Stream:
    """The stream this producer runs, now ``running`` and holding a process slot.

    A frame naming a stream claims one the page registered; a frame with ``count`` and
    ``interval`` registers its own, from ``source``, as a terminal client does.
    """
    if run.number is None:
        try:
            [stream] = register(room, mode, run.count, run.interval, 1, source, run.work, run.cost)
        except Refusal as full:
            raise RunRefused(full.message) from None
    else:
        found = live.load(room, run.number)
        if found is None:
            raise RunRefused(f"No stream {run.number} in room {room!r}.")
        stream = found
    if stream.mode is not mode:
        raise RunRefused(f"Stream {stream.number} is a {stream.mode} stream; use its endpoint.")
    try:
        SLOTS.acquire()
    except Refusal as busy:
        # Nobody will retry a refused stream: end it, visibly, rather than leave it waiting.
        raise RunRefused(busy.message, abandon(room, stream.number, busy.message)) from None
    try:
        stop_requested, _ = live.flags(room, stream.number)
        if stream.state is not State.WAITING or stop_requested:
            raise RunRefused(f"Stream {stream.number} is {stream.state}; it cannot start again.")
        if not live.claim(room, stream.number):
            raise RunRefused(f"Stream {stream.number} is already being run by another connection.")
        stream = stream.started(time.time(), thread_model, PROCESS)
        live.beat(PROCESS, settings.DASHBOARD_PRESENCE_LEASE)
        live.save(stream)
    except BaseException:
        SLOTS.release()
        raise
    metrics.STREAMS.labels(str(mode), metrics.held_state(orphaned=False)).inc()
    return stream


def release(stream: Stream) -> None:
    """The loop of ``stream``, claimed by ``claim``, is over, however it ended: its process
    slot is free, and it counts as ended, as the history records it."""
    SLOTS.release()
    mode = str(stream.mode)
    metrics.STREAMS.labels(mode, metrics.held_state(stream.orphaned)).dec()
    if stream.outcome is not None:
        metrics.STREAMS_ENDED.labels(mode, stream.outcome.value).inc()


def claim_order(
    scope: WebSocketScope, mode: Mode, message: Mapping[str, Any], already: Stream | None
) -> Stream:
    """The stream a producer connection's ``run`` frame asks for, claimed under the
    connection's thread model (``scope``, as streams/middleware.py fills it): ``Refusal``
    for a bad frame or a second one (answered, the connection stays open), ``RunRefused``
    for a stream it may not run. A connection runs one stream: ``already``, if it has."""
    if already is not None:
        raise Refusal("This connection has run its stream.")
    room = room_from_scope(scope)
    assert room is not None  # the consumer closed a connection with a bad room at once
    run = parse_producer_frame(message.get("text"), message.get("bytes"), mode)
    extra = cast(Mapping[str, Any], scope)
    if not extra["slow"][0] and (run.work is Work.HTTP or _registered_work(room, run)):
        raise RunRefused(
            "http work needs this server's address: run it through a server (--url), or "
            "set DASHBOARD_SLOW_URL."
        )
    return claim(room, mode, run, extra["thread_model"], extra["source"])


def _registered_work(room: str, run: Run) -> bool:
    """The stream ``run`` names was registered with http work."""
    found = live.load(room, run.number) if run.number is not None else None
    return found is not None and found.work is Work.HTTP


def heard(stream: Stream) -> Stream:
    """What a running loop makes of its flags before each tick: stopped by anyone, or
    orphaned, or the server stopping."""
    stop, orphaned = live.flags(stream.room, stream.number)
    now = stream.heard(stop, orphaned, time.time(), SHUTDOWN.is_set())
    if now.orphaned and not stream.orphaned:
        metrics.STREAMS.labels(str(stream.mode), metrics.held_state(orphaned=False)).dec()
        metrics.STREAMS.labels(str(stream.mode), metrics.held_state(orphaned=True)).inc()
    return now


def untold(stream: Stream, error: Exception) -> None:
    """The room could not be told how ``stream`` ended: Redis is gone. Its row is still
    written; its card stays as it was until a sweep ends it."""
    log.warning("stream %s of room %s: its end not told: %r", stream.number, stream.room, error)


def failed(stream: Stream, error: Exception) -> Stream:
    """``stream`` ended by ``error`` in its loop: logged, a traceback only for a bug."""
    if isinstance(error, STORE_DOWN):
        log.warning("stream %s of room %s failed: %r", stream.number, stream.room, error)
    else:
        log.exception("stream %s of room %s failed", stream.number, stream.room)
    return stream.ended(State.FAILED, time.time(), f"{type(error).__name__}: {error}"[:200])


def note_attempt(room: str, number: int) -> Stream | None:
    """Count a producer handshake for a waiting stream, so the dashboard can show that a
    client is retrying while the shared thread is held. None if nothing changed."""
    stream = live.load(room, number)
    if stream is None or stream.state is not State.WAITING:
        return None
    stream = stream.attempted(PROCESS)
    live.beat(PROCESS, settings.DASHBOARD_PRESENCE_LEASE)
    live.save(stream)
    return stream


def abandon(room: str, number: int, note: str) -> Stream | None:
    """Stop a stream no producer has claimed (its page left, Stop was pressed, or the
    process was full). Claiming it here is what keeps a producer from starting it after."""
    if not live.claim(room, number):
        return None  # a producer runs it: a stop is the stop flag's job, not this
    live.request_stop(room, number)
    stream = live.load(room, number)
    if stream is None or stream.state is not State.WAITING:
        return None
    stream = stream.ended(State.STOPPED, time.time(), note)
    live.save(stream)
    return stream


def end_abandoned(room: str, now: float) -> list[Stream]:
    """End, as *failed*, the room's live streams whose process is gone (no beat within its
    lease: streams/sweeping.py); the ones it ended."""
    return _end_abandoned(room, live.streams(room), now)


def _end_abandoned(room: str, streams: list[Stream], now: float) -> list[Stream]:
    """Each stream is ended by one caller only: the end of a running one is claimed, and a
    waiting one is claimed as a producer would, so none starts it after. The stop flag is
    set too, so a producer that was only cut off stops at its next tick."""
    streams = [s for s in streams if s.is_live]
    alive = live.alive({s.process for s in streams if s.process})
    ended = []
    for stream in streams:
        if not stream.is_abandoned(alive):
            continue
        if stream.state is State.WAITING and not live.claim(room, stream.number):
            continue  # a producer claimed it just now: it runs
        if not live.claim_end(room, stream.number):
            continue
        stream = stream.abandoned(now)
        live.request_stop(room, stream.number)
        live.save(stream)
        ended.append(stream)
    return ended


@dataclass(frozen=True)
class RoomNow:
    """A room as a viewer joining it sees it."""

    streams: list[Stream]
    thread_model: ThreadModel
    others: int  # the room's viewers on other processes
    ended: list[Stream]  # streams of a process that is gone, ended just now


def room_now(room: str, now: float, process: str) -> RoomNow:
    """The room for a joining viewer of ``process``, in one trip off the shared thread: a
    burst of viewers connecting at once queues on the executor's few threads, a trip each.
    The streams of a process that is gone are ended first, so it never sees them run."""
    streams = live.streams(room)
    ended = {s.number: s for s in _end_abandoned(room, streams, now)}
    return RoomNow(
        streams=[ended.get(s.number, s) for s in streams],
        thread_model=live.thread_model(room),
        others=live.viewers(room, now, besides=process),
        ended=list(ended.values()),
    )


aclaim_order = off_thread(claim_order)
aheard = off_thread(heard)
aend_abandoned = off_thread(end_abandoned)
aroom_now = off_thread(room_now)
anote_attempt = off_thread(note_attempt)
aabandon = off_thread(abandon)
aregister = off_thread(register)
