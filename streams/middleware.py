"""ASGI middleware in front of the producer consumers: the room's thread model.

Under "Channels default" a producer runs as Channels runs it: every sync consumer of the
process on one shared thread. Under "a thread per connection" the whole connection runs
inside its own asgiref ``ThreadSensitiveContext``, so its thread-sensitive calls get a
thread of their own:
https://github.com/django/asgiref/blob/main/asgiref/sync.py (ThreadSensitiveContext)
"""

import time
from collections.abc import Mapping
from typing import cast
from urllib.parse import parse_qs

from asgiref.sync import ThreadSensitiveContext
from asgiref.typing import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, WebSocketScope
from channels.layers import get_channel_layer
from django.conf import settings
from django.urls import reverse

from streams import events, live, producing
from streams.choices import ThreadModel
from streams.frames import is_small_number
from streams.gauges import SAMPLER
from streams.rooms import room_from_scope, room_group
from streams.sweeping import SWEEPER


class ThreadModelMiddleware:
    """Runs the connection under the room's thread model, and puts in its scope what the
    producer needs: ``thread_model``; ``source``, where a stream it registers itself comes
    from (a WebSocket client, or what ``manage.py stream`` says it is); and ``slow``, the
    project's slow endpoint on this very server, for ``http`` work."""

    def __init__(self, app: ASGI3Application) -> None:
        self.app = app

    async def __call__(
        self, scope: WebSocketScope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        room = room_from_scope(scope)
        if room is None:
            # The consumer refuses the connection with a clear close code.
            await self.app(_with_model(scope, ThreadModel.SHARED), receive, send)
            return
        SWEEPER.start()  # this process beats while it runs streams, viewers or not
        model = await live.athread_model(room)
        # This runs as soon as Daphne starts the handshake, before the consumer's first
        # message waits for the shared thread, so a retrying client shows on the dashboard.
        await _note_attempt(room, scope)
        SAMPLER.joined(producer=True)  # its run records the process's gauges
        try:
            if model is ThreadModel.PER_CONNECTION:
                async with ThreadSensitiveContext():
                    await self.app(_with_model(scope, model), receive, send)
            else:
                await self.app(_with_model(scope, model), receive, send)
        finally:
            SAMPLER.left(producer=True)


def _with_model(scope: WebSocketScope, model: ThreadModel) -> WebSocketScope:
    # Keys of this project's own, as Channels adds url_route: ASGI scopes may carry more.
    source = cast(Mapping[str, object], scope).get("source")
    if not isinstance(source, str):
        client = scope.get("client")
        source = f"a WebSocket client at {client[0]}" if client else "a WebSocket client"
    extras = {"thread_model": model, "source": source, "slow": slow_endpoint(scope)}
    return cast(WebSocketScope, {**scope, **extras})


def slow_endpoint(scope: WebSocketScope) -> tuple[str, str]:
    """(URL, Host header) of the slow endpoint on the server this connection reached: at
    the address it listens on, with the Host the client sent (it passed ALLOWED_HOSTS); or
    ``DASHBOARD_SLOW_URL``. An empty URL when neither is known (``manage.py stream``)."""
    if settings.DASHBOARD_SLOW_URL:
        return settings.DASHBOARD_SLOW_URL, ""
    server = scope.get("server")
    if not server or server[1] is None:
        return "", ""
    address = "127.0.0.1" if server[0] in {"0.0.0.0", "::", ""} else server[0]
    if ":" in address:
        address = f"[{address}]"
    host = next((bytes(v).decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
    return f"http://{address}:{server[1]}{reverse('slow')}", host


async def _note_attempt(room: str, scope: WebSocketScope) -> None:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    number = query.get("stream", [""])[0]
    if not is_small_number(number):
        return
    stream = await producing.anote_attempt(room, int(number))
    if stream is not None:
        event = events.stream_event("stream.attempt", stream, time.time())
        await get_channel_layer().group_send(room_group(room), event)
