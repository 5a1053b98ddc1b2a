"""Live room state in Django's cache: stream records, stop flags, the thread model, how
many viewers a room has and what its viewers received of each stream.

The cache is local memory by default and Redis when ``REDIS_URL`` is set, so every server
process sees the same rooms. Each function has an ``a``-prefixed twin for async callers
that runs it off the shared sync thread (``process.off_thread``): Django's own
``cache.aget`` & co. use ``thread_sensitive=True``, which would queue the viewer behind a
sync consumer's loop on that thread.
"""

import time
from collections.abc import Callable, Collection
from typing import Any

from django.core.cache import cache
from redis.exceptions import RedisError

from streams import headcount
from streams.choices import ThreadModel
from streams.process import off_thread
from streams.stream import Stream

# What the cache and the Redis layers raise while Redis is gone: callers that can go on
# without the store catch this, and log a line rather than a traceback.
STORE_DOWN: tuple[type[Exception], ...] = (RedisError, OSError, TimeoutError)

TTL = 24 * 60 * 60  # a forgotten room leaves nothing behind after a day
WINDOW = 200  # stream numbers scanned for a room's listing


def _key(room: str, *parts: object) -> str:
    return ":".join(["room", room, *map(str, parts)])


def next_numbers(room: str, how_many: int, floor: Callable[[], int] = lambda: 0) -> list[int]:
    """Reserve ``how_many`` consecutive stream numbers, atomically across processes; a
    room the cache has forgotten (a restart of the memory cache) counts on from ``floor()``."""
    key = _key(room, "seq")
    if cache.get(key) is None:
        cache.add(key, floor(), TTL)
    last = cache.incr(key, how_many)
    cache.touch(key, TTL)
    return list(range(last - how_many + 1, last + 1))


def save(stream: Stream) -> None:
    cache.set(_key(stream.room, "stream", stream.number), stream, TTL)


def load(room: str, number: int) -> Stream | None:
    stream = cache.get(_key(room, "stream", number))
    return stream if isinstance(stream, Stream) else None


def streams(room: str) -> list[Stream]:
    """The room's streams still on the dashboard, oldest first."""
    last = cache.get(_key(room, "seq"), 0)
    keys = [_key(room, "stream", n) for n in range(max(1, last - WINDOW + 1), last + 1)]
    found = cache.get_many(keys)
    return [found[k] for k in keys if isinstance(found.get(k), Stream)]


def forget(streams_: list[Stream]) -> None:
    cache.delete_many([_key(s.room, "stream", s.number) for s in streams_])


def claim(room: str, number: int) -> bool:
    """True for the one producer connection that gets to run stream ``number``."""
    return cache.add(_key(room, "claim", number), 1, TTL)


def claim_end(room: str, number: int) -> bool:
    """True for the one caller that gets to record how stream ``number`` ended: its
    producer, or a sweep that found its process gone."""
    return cache.add(_key(room, "ended", number), 1, TTL)


def request_stop(room: str, number: int) -> None:
    cache.set(_key(room, "stop", number), 1, TTL)


def flag_orphaned(room: str, number: int) -> None:
    cache.set(_key(room, "orphan", number), 1, TTL)


def flags(room: str, number: int) -> tuple[bool, bool]:
    """(stop requested, orphaned): read by a running stream before every tick."""
    stop, orphan = _key(room, "stop", number), _key(room, "orphan", number)
    found = cache.get_many([stop, orphan])
    return stop in found, orphan in found


def beat(process: str, lease: float) -> None:
    """``process`` is alive for ``lease`` seconds more (streams/sweeping.py)."""
    cache.set(f"process:{process}", 1, lease)


def alive(processes: Collection[str]) -> set[str]:
    """Those of ``processes`` whose last beat has not lapsed."""
    names = sorted(set(processes))
    found = cache.get_many([f"process:{name}" for name in names])
    return {name for name in names if f"process:{name}" in found}


def _add(key: str, delta: int) -> int:
    """Add ``delta`` to a counter, atomically across processes; its new value."""
    cache.add(key, 0, TTL)
    try:
        return cache.incr(key, delta)
    except ValueError:  # expired between the two calls
        cache.add(key, 0, TTL)
        return cache.incr(key, delta)


def set_viewers(room: str, process: str, count: int, now: float, lease: float) -> int:
    """``process`` has ``count`` viewers of ``room``, for ``lease`` seconds unless renewed;
    the room's viewers now, over every process sharing the cache whose lease holds
    (streams/headcount.py). Each process writes only its own count. The registry is read,
    changed and written back: two processes registering at once may drop one, which is
    back within its next renewal."""
    key = _key(room, "processes")
    registry = cache.get(key)
    if headcount.due(registry, process, now, lease):
        registry = headcount.renewed(registry, process, now, lease)
        cache.set(key, registry, TTL)
    cache.set(_key(room, "viewers", process), count, lease)
    return _viewers(room, registry, now)


def viewers(room: str, now: float | None = None, besides: str | None = None) -> int:
    """The room's viewers, over every process whose lease holds (but ``besides``)."""
    return _viewers(room, cache.get(_key(room, "processes")), now or time.time(), besides)


def withdraw_viewers(rooms: list[str], process: str) -> None:
    """``process`` stops: its counts go now, not when their leases lapse."""
    cache.delete_many([_key(room, "viewers", process) for room in rooms])


def _viewers(room: str, registry: Any, now: float, besides: str | None = None) -> int:
    live = [p for p in headcount.live_processes(registry, now) if p != besides]
    return headcount.total(cache.get_many([_key(room, "viewers", p) for p in live]).values())


def report_delivery(room: str, number: int, received: int, lost: int) -> None:
    """One viewer's account of a stream that ended: ticks it got and gaps it saw. The
    count of viewers goes last, so a reader that sees it sees their figures too."""
    for name, value in (("received", received), ("lost", lost), ("viewers", 1)):
        _add(_key(room, "delivery", number, name), value)


def delivery(room: str, number: int) -> tuple[int, int, int]:
    """(ticks received, ticks lost, viewers reporting) for stream ``number``, summed."""
    names = ("received", "lost", "viewers")
    keys = [_key(room, "delivery", number, name) for name in names]
    found = cache.get_many(keys)
    received, lost, reporting = (int(found.get(key, 0)) for key in keys)
    return received, lost, reporting


def thread_model(room: str) -> ThreadModel:
    value = cache.get(_key(room, "thread_model"))
    return value if isinstance(value, ThreadModel) else ThreadModel.SHARED


def set_thread_model(room: str, model: ThreadModel) -> None:
    cache.set(_key(room, "thread_model"), model, TTL)


asave = off_thread(save)
aload = off_thread(load)
astreams = off_thread(streams)
aforget = off_thread(forget)
arequest_stop = off_thread(request_stop)
aflag_orphaned = off_thread(flag_orphaned)
athread_model = off_thread(thread_model)
aset_viewers = off_thread(set_viewers)
areport_delivery = off_thread(report_delivery)
aset_thread_model = off_thread(set_thread_model)
