"""WebSocket routes. Room names come from the URL and are checked by the consumers, which
close a bad one with 4404 instead of letting the router raise.

Every route but the catch-all is behind ``LoginGate``, which with DASHBOARD_LOGIN_REQUIRED
lets in only a logged-in session (streams/logins.py), told in the route's own protocol
otherwise; first, before a refused client can touch any state."""

from typing import Any

from django.urls import path, re_path

from streams.logins import LoginGate, for_page, for_plain_client, for_producer
from streams.middleware import ThreadModelMiddleware
from streams.notes import NotesAsyncConsumer, NotesSyncConsumer
from streams.producers import AsyncTickConsumer, SyncTickConsumer
from streams.rooms import DEFAULT_ROOM
from streams.viewer import NoRouteConsumer, RoomConsumer

# Typed Any: django-stubs expects path() to route views, Channels routes ASGI apps with it.
viewer: Any = LoginGate(RoomConsumer.as_asgi(), for_page)
sync_producer: Any = LoginGate(ThreadModelMiddleware(SyncTickConsumer.as_asgi()), for_producer)
async_producer: Any = LoginGate(ThreadModelMiddleware(AsyncTickConsumer.as_asgi()), for_producer)
notes_sync: Any = LoginGate(ThreadModelMiddleware(NotesSyncConsumer.as_asgi()), for_plain_client)
notes_async: Any = LoginGate(ThreadModelMiddleware(NotesAsyncConsumer.as_asgi()), for_plain_client)
LOBBY = {"room": DEFAULT_ROOM}

# The source notes' endpoints take a handshake without an Origin (streams/origins.py).
NOTES = ("/ws/sc/", "/ws/ac/")

websocket_urlpatterns = [
    path("ws/rooms/<str:room>/sync/", sync_producer),
    path("ws/rooms/<str:room>/async/", async_producer),
    path("ws/rooms/<str:room>/", viewer),
    path("ws/sc/", notes_sync, LOBBY),
    path("ws/sc/<str:room>/", notes_sync),
    path("ws/ac/", notes_async, LOBBY),
    path("ws/ac/<str:room>/", notes_async),
    re_path(r"", NoRouteConsumer.as_asgi()),
]
