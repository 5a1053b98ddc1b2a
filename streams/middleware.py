"""ASGI middleware in front of the producer consumers: the room's thread model.

Under "Channels default" a producer runs as Channels runs it: every sync consumer of the
process on one shared thread. Under "a thread per connection" the whole connection runs
inside its own asgiref ``ThreadSensitiveContext``, so its thread-sensitive calls get a
thread of their own:
https://github.com/django/asgiref/blob/main/asgiref/sync.py (ThreadSensitiveContext)
"""

import time
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import ThreadSensitiveContext
from channels.layers import get_channel_layer

from streams import events, live, producing
from streams.commands import is_small_number
from streams.rooms import InvalidRoom, room_group, validate_room
from streams.stream import ThreadModel

Scope = dict[str, Any]


class ThreadModelMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        try:
            room = validate_room(scope["url_route"]["kwargs"]["room"])
        except InvalidRoom:
            # The consumer refuses the connection with a clear close code.
            await self.app({**scope, "thread_model": ThreadModel.SHARED}, receive, send)
            return
        model = await live.athread_model(room)
        # This runs as soon as Daphne starts the handshake, before the consumer's first
        # message waits for the shared thread, so a retrying client shows on the dashboard.
        await _note_attempt(room, scope)
        scope = {**scope, "thread_model": model}
        if model is ThreadModel.PER_CONNECTION:
            async with ThreadSensitiveContext():
                await self.app(scope, receive, send)
        else:
            await self.app(scope, receive, send)


async def _note_attempt(room: str, scope: Scope) -> None:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    number = query.get("stream", [""])[0]
    if not is_small_number(number):
        return
    stream = await producing.anote_attempt(room, int(number))
    if stream is not None:
        event = events.stream_event("stream.attempt", stream, time.time())
        await get_channel_layer().group_send(room_group(room), event)
