"""Every WebSocket connection's end, counted by who closed first and with what code.

An ASGI middleware around all the WebSocket routes, so the closes of every consumer and of
``OriginGate`` are counted in one place, as they go out, rather than at each of the dozen
places that send one. A connection counts once: as the application's close if it sent one
(its disconnect, which follows, is the same end), else as the client's, with the code the
server reported (1006: the connection dropped without a closing handshake).
"""

from collections.abc import Awaitable, Callable
from typing import cast

from asgiref.typing import (
    ASGIReceiveCallable,
    ASGIReceiveEvent,
    ASGISendCallable,
    ASGISendEvent,
    WebSocketScope,
)

from streams import metrics

WebSocketApp = Callable[[WebSocketScope, ASGIReceiveCallable, ASGISendCallable], Awaitable[None]]


class CountedCloses:
    def __init__(self, app: WebSocketApp) -> None:
        self.app = app

    async def __call__(
        self, scope: WebSocketScope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        ended = False

        async def receive_counted() -> ASGIReceiveEvent:
            nonlocal ended
            message = await receive()
            if message["type"] == "websocket.disconnect" and not ended:
                ended = True
                metrics.CLOSES.labels("client", metrics.close_label(message.get("code"))).inc()
            return message

        async def send_counted(message: ASGISendEvent) -> None:
            nonlocal ended
            await send(message)
            if message["type"] == "websocket.close" and not ended:
                ended = True
                # The spec's default code is 1000; the consumers here always name one.
                code = cast(dict[str, object], message).get("code", 1000)
                metrics.CLOSES.labels("server", metrics.close_label(code)).inc()

        await self.app(scope, receive_counted, send_counted)
