"""WebSocket routes. Room names come from the URL and are checked by the consumers, which
close a bad one with 4404 instead of letting the router raise."""

from typing import Any

from django.urls import path, re_path

from streams.middleware import ThreadModelMiddleware
from streams.notes import NotesAsyncConsumer, NotesSyncConsumer
from streams.producers import AsyncTickConsumer, SyncTickConsumer
from streams.rooms import DEFAULT_ROOM
from streams.viewer import NoRouteConsumer, RoomConsumer

# Typed Any: django-stubs expects path() to route views, Channels routes ASGI apps with it.
sync_producer: Any = ThreadModelMiddleware(SyncTickConsumer.as_asgi())
async_producer: Any = ThreadModelMiddleware(AsyncTickConsumer.as_asgi())
notes_sync: Any = ThreadModelMiddleware(NotesSyncConsumer.as_asgi())
notes_async: Any = ThreadModelMiddleware(NotesAsyncConsumer.as_asgi())
LOBBY = {"room": DEFAULT_ROOM}

# The source notes' endpoints take a handshake without an Origin (streams/origins.py).
NOTES = ("/ws/sc/", "/ws/ac/")

websocket_urlpatterns = [
    path("ws/rooms/<str:room>/sync/", sync_producer),
    path("ws/rooms/<str:room>/async/", async_producer),
    path("ws/rooms/<str:room>/", RoomConsumer.as_asgi()),
    path("ws/sc/", notes_sync, LOBBY),
    path("ws/sc/<str:room>/", notes_sync),
    path("ws/ac/", notes_async, LOBBY),
    path("ws/ac/<str:room>/", notes_async),
    re_path(r"", NoRouteConsumer.as_asgi()),
]
