"""What each room command does: the rules behind the viewer's buttons.

``apply`` turns a validated command into the events for the room's group and the fragment
for the sender alone, or raises ``Refusal`` with a refusal for the sender's panel.
"""

import math
import time
from dataclasses import dataclass, field
from typing import Any

from streams import events, fragments, live, producing
from streams.frames import Chat, Refusal, Reset, RoomCommand, SetThreadModel, Start, Stop
from streams.limits import RateLimit
from streams.rooms import stream_group
from streams.stream import State


@dataclass
class Effects:
    """What a room command did: events for groups, and what only its sender gets."""

    events: list[dict[str, Any]] = field(default_factory=list)
    reply: str = ""  # for the sender only
    requested: list[int] = field(default_factory=list)  # streams the sender now owns
    notices: dict[str, dict[str, Any]] = field(default_factory=dict)  # other groups: event


async def apply(room: str, command: RoomCommand, chat_allowance: RateLimit) -> Effects:
    """``chat_allowance`` is the sending page's own: chat is limited per connection."""
    match command:
        case Start():
            return await _start(room, command)
        case Stop():
            return await _stop(room, command)
        case Reset():
            return await _reset(room)
        case Chat():
            if not chat_allowance.allow(time.monotonic()):
                wait = math.ceil(chat_allowance.retry_after(time.monotonic()))
                raise Refusal(
                    f"At most {chat_allowance.limit} chat messages a minute; wait {wait} s.",
                    command.panel,
                )
            return Effects(events=[events.chat_message(command.text, time.time())])
        case SetThreadModel():
            await live.aset_thread_model(room, command.model)
            return Effects(events=[events.room_thread_model(room, command.model)])


async def abandon(room: str, numbers: list[int]) -> list[dict[str, Any]]:
    """Stop the streams a departed viewer asked for and no producer started: nobody is
    left to open their connections."""
    stopped = []
    for number in numbers:
        stream = await producing.aabandon(room, number, "its page closed before it started")
        if stream is not None:
            stopped.append(events.stream_event("stream.stopped", stream, time.time()))
    return stopped


async def _start(room: str, command: Start) -> Effects:
    created = await producing.aregister(
        room,
        command.mode,
        command.count,
        command.interval,
        command.streams,
        work=command.work,
        cost=command.cost,
    )
    now = time.time()
    return Effects(
        events=[events.stream_event("stream.waiting", s, now) for s in created],
        reply=fragments.producers(room, created),
        requested=[s.number for s in created],
    )


async def _stop(room: str, command: Stop) -> Effects:
    stream = await live.aload(room, command.number)
    if stream is None:
        raise Refusal(f"There is no stream {command.number} in this room.")
    if not stream.is_live:
        raise Refusal(f"Stream {command.number} has already {stream.state}.")
    if stream.state is State.WAITING:
        stopped = await producing.aabandon(room, command.number, "stopped before it started")
        if stopped is not None:
            return Effects(events=[events.stream_event("stream.stopped", stopped, time.time())])
    # A running stream (or one a producer just claimed) reads its stop flag before every
    # tick and announces its own stop. An async one also hears stream.stop at once.
    await live.arequest_stop(room, command.number)
    return Effects(
        notices={stream_group(room, command.number): events.stream_stop()},
    )


async def _reset(room: str) -> Effects:
    await live.aforget([s for s in await live.astreams(room) if not s.is_live])
    # Read again: a stream that ended meanwhile must not come back as running.
    return Effects(events=[events.room_reset(await live.astreams(room), time.time())])
