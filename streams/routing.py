"""WebSocket routes. Room names come from the URL and are checked by the consumers, which
close a bad one with 4404 instead of letting the router raise."""

from typing import Any

from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer
from django.urls import path, re_path

from streams.consumers import CLOSE_BAD_ROOM, AsyncTickConsumer, RoomConsumer, SyncTickConsumer
from streams.middleware import ThreadModelMiddleware


class NoRouteConsumer(AsyncConsumer):
    """Any other WebSocket path: a clean, final close rather than a routing traceback."""

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        await self.send({"type": "websocket.accept"})
        await self.send({"type": "websocket.close", "code": CLOSE_BAD_ROOM})

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        raise StopConsumer


# Typed Any: django-stubs expects path() to route views, Channels routes ASGI apps with it.
sync_producer: Any = ThreadModelMiddleware(SyncTickConsumer.as_asgi())
async_producer: Any = ThreadModelMiddleware(AsyncTickConsumer.as_asgi())

websocket_urlpatterns = [
    path("ws/rooms/<str:room>/sync/", sync_producer),
    path("ws/rooms/<str:room>/async/", async_producer),
    path("ws/rooms/<str:room>/", RoomConsumer.as_asgi()),
    re_path(r"", NoRouteConsumer.as_asgi()),
]
