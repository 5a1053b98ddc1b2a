"""Who may open the dashboard's WebSockets when ``DASHBOARD_LOGIN_REQUIRED`` is on: the
logged-in user of the session the browser's cookie names, looked up off the shared sync
thread.

The one fact to know: Channels' ``AuthMiddlewareStack`` looks the user up through
``database_sync_to_async``, on the one thread every sync consumer of the process shares, so
a viewer behind it is not even accepted while a sync stream loops (measured: 3.5 s, until
the loop ended, 0.5 s into a stream of two 2 s ticks; docs/architecture.md). Django's async
API (``SessionStore.aload()``, ``auth.aget_user()``) is the async ORM, thread-sensitive too,
and waits the same. So the lookup here runs Django's sync session store and auth backend in
the default executor: 6-10 ms in the same run.
"""

import json
import logging
from collections.abc import Awaitable, Callable
from importlib import import_module
from typing import cast

from asgiref.typing import (
    ASGIReceiveCallable,
    ASGISendCallable,
    WebSocketCloseEvent,
    WebSocketScope,
    WebSocketSendEvent,
)
from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.http.cookie import parse_cookie
from django.urls import reverse
from django.utils.crypto import constant_time_compare

from streams import fragments
from streams.close_codes import CLOSE_LOGIN_REQUIRED, CLOSE_TRY_AGAIN
from streams.live import STORE_DOWN
from streams.process import closing_connections, off_thread

log = logging.getLogger(__name__)
WebSocketApp = Callable[[WebSocketScope, ASGIReceiveCallable, ASGISendCallable], Awaitable[None]]
# What the session store raises while it does not answer: the database (the default
# engine), or Redis for a cache engine on REDIS_URL.
SESSIONS_DOWN: tuple[type[Exception], ...] = (DatabaseError, *STORE_DOWN)
UNCHECKED = (
    "The dashboard cannot check this connection's login just now: its session store does "
    "not answer. The page tries again in a second."
)


def refusal() -> str:
    """Why a connection was refused, and where to go: for the page and for a terminal."""
    return (
        "This dashboard needs a login, and this connection's session is not logged in: "
        "never logged in, logged out, expired, or its password changed since. "
        f"Log in at {reverse('login')} and open the page again."
    )


def session_key(scope: WebSocketScope) -> str | None:
    """The session key the handshake's ``Cookie`` header names, if any."""
    # Django's own parser, as for HTTP requests: it never raises, whatever the header holds.
    cookies = b"; ".join(bytes(v) for k, v in scope.get("headers", []) if k == b"cookie")
    return parse_cookie(cookies.decode("latin-1")).get(settings.SESSION_COOKIE_NAME) or None


def user_of_session(key: str | None) -> AbstractBaseUser | None:
    """The user logged in to session ``key``, verified as Django's ``auth.get_user`` verifies
    it (the session exists and has not expired, its backend is configured, the backend still
    has the user and lets it in, and the session's auth hash matches the user's password
    under ``SECRET_KEY`` or a fallback); None otherwise.

    Read-only, unlike ``get_user``, which flushes a session that fails and rotates one
    signed with a fallback key: a WebSocket cannot set the cookie that would follow. The
    page's next HTTP request does both."""
    if not key:
        return None
    session = import_module(settings.SESSION_ENGINE).SessionStore(key)
    try:
        user_id = get_user_model()._meta.pk.to_python(session[SESSION_KEY])
        backend_path = session[BACKEND_SESSION_KEY]
    except (KeyError, ValidationError):
        return None
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return None
    user = cast(AbstractBaseUser | None, load_backend(backend_path).get_user(user_id))
    if user is None:
        return None
    if hasattr(user, "get_session_auth_hash"):
        sent = session.get(HASH_SESSION_KEY)
        hashes = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
        if not sent or not any(constant_time_compare(sent, known) for known in hashes):
            return None
    return user


# In the default executor, never on the shared sync thread; its database connections closed.
auser_of_session = off_thread(closing_connections(user_of_session))


def for_page(why: str) -> str:
    """A refusal for the page's viewer socket: its room error panel."""
    return fragments.error("room", why)


def for_producer(why: str) -> str:
    """A refusal for a producer socket, in its JSON protocol."""
    return json.dumps({"type": "error", "message": why})


def for_plain_client(why: str) -> str:
    """A refusal for the source notes' plain-text clients (streams/notes.py)."""
    return f"error: {why}"


class LoginGate:
    """ASGI middleware for a WebSocket route. With ``DASHBOARD_LOGIN_REQUIRED`` on, a
    handshake goes on only with a logged-in session, its user in the scope's ``user``; any
    other is accepted, told why in the route's own words (``say``) and closed with 4401,
    which neither htmx nor the page retries. Off, it lets everything through untouched."""

    def __init__(self, app: WebSocketApp, say: Callable[[str], str]) -> None:
        self.app = app
        self.say = say

    async def __call__(
        self, scope: WebSocketScope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if not settings.DASHBOARD_LOGIN_REQUIRED:
            await self.app(scope, receive, send)
            return
        try:
            user = await auser_of_session(session_key(scope))
        except SESSIONS_DOWN as error:
            # Not the person's fault: 4503, which the page retries a second later.
            log.warning("could not check a WebSocket's login: %s", error)
            await refuse(receive, send, self.say(UNCHECKED), CLOSE_TRY_AGAIN)
            return
        if user is not None:
            await self.app(cast(WebSocketScope, {**scope, "user": user}), receive, send)
            return
        await refuse(receive, send, self.say(refusal()), CLOSE_LOGIN_REQUIRED)


async def refuse(
    receive: ASGIReceiveCallable, send: ASGISendCallable, text: str, code: int
) -> None:
    """Accept the handshake, send ``text``, close with ``code``, wait for the client to go.
    Accepted first, as streams/origins.py does: a refused handshake reaches a browser as
    1006, which htmx retries forever."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept", "subprotocol": None, "headers": []})
    # Optional keys left out, as in streams/origins.py.
    told = {"type": "websocket.send", "text": text}
    await send(cast(WebSocketSendEvent, told))
    await send(cast(WebSocketCloseEvent, {"type": "websocket.close", "code": code}))
    while (await receive())["type"] != "websocket.disconnect":
        pass
