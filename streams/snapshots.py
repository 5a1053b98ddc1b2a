"""A room's snapshot for the viewers joining it: read and rendered once for all of them.

A page that connects is sent the room as it is now (its streams, its thread model), read
from the cache off the shared thread and rendered. When a thousand viewers connect at once,
a read and a render each is a thousand trips through the executor's few threads and a
thousand renders of the same columns. Here the viewers of a room that ask in the same turn
of the event loop share one read, which starts on the next turn: every viewer that asks has
joined the room's group already, so what the read misses reaches it as an event.
"""

import asyncio
import time
from dataclasses import dataclass

from streams import fragments, producing, sweeping
from streams.process import PROCESS
from streams.stream import Stream


@dataclass(frozen=True)
class Snapshot:
    streams: list[Stream]
    html: str  # both columns, the timeline and the thread model, rendered once
    others: int  # the room's viewers on other processes


_next: dict[tuple[asyncio.AbstractEventLoop, str], asyncio.Future[Snapshot]] = {}


async def take(room: str) -> Snapshot:
    """The room now, for a viewer that has joined its group: the next read of it, shared
    with every viewer that asks before it starts."""
    loop = asyncio.get_running_loop()
    key = (loop, room)
    shared = _next.get(key)
    if shared is None:
        shared = _next[key] = loop.create_future()
        loop.call_soon(_start, key, shared)
    # Shielded: a viewer that goes away while it waits must not cancel the others' read.
    return await asyncio.shield(shared)


def _start(key: tuple[asyncio.AbstractEventLoop, str], shared: asyncio.Future[Snapshot]) -> None:
    del _next[key]  # a viewer asking from now on waits for the read after this one
    loop, room = key
    task = loop.create_task(_read(room))
    task.add_done_callback(lambda done: _settle(shared, done))


async def _read(room: str) -> Snapshot:
    now = await producing.aroom_now(room, time.time(), PROCESS)
    await sweeping.announce(room, now.ended)
    html = fragments.columns(now.streams, time.time())
    html += fragments.timeline(now.streams, time.time())
    html += fragments.thread_model(room, now.thread_model)
    return Snapshot(now.streams, html, now.others)


def _settle(shared: asyncio.Future[Snapshot], done: "asyncio.Task[Snapshot]") -> None:
    if shared.cancelled():
        return
    if done.cancelled():
        shared.cancel()
    elif (error := done.exception()) is not None:
        shared.set_exception(error)
    else:
        shared.set_result(done.result())
