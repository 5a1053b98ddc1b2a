"""The product with its viewer behind the two other ways of finding a WebSocket's user, for
``python -m bench.logins`` to time against the product's own ``LoginGate``:

    daphne bench.login_stacks:auth_middleware_stack   # Channels' AuthMiddlewareStack
    daphne bench.login_stacks:django_async            # Django's SessionStore.aload, aget_user

Only the viewer's route changes; a viewer without a logged-in user is closed with 4401, as
the product does. Both wait for the shared sync thread: Channels' ``get_user`` is
``database_sync_to_async``, and Django's async session and auth calls are its async ORM,
``sync_to_async`` with ``thread_sensitive=True``.
"""

import os
from importlib import import_module
from types import SimpleNamespace
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")
get_asgi_application()  # Django set up before anything imports a model

from asgiref.typing import ASGIReceiveCallable, ASGISendCallable, WebSocketScope  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import aget_user  # noqa: E402
from django.urls import path  # noqa: E402

from dashboard_project.asgi import http_app  # noqa: E402  (and Daphne's patches)
from streams.close_codes import CLOSE_LOGIN_REQUIRED  # noqa: E402
from streams.logins import WebSocketApp, for_page, refusal, refuse, session_key  # noqa: E402
from streams.origins import OriginGate  # noqa: E402
from streams.routing import NOTES, websocket_urlpatterns  # noqa: E402
from streams.viewer import RoomConsumer  # noqa: E402

VIEWER_ROUTE = "ws/rooms/<str:room>/"


class RequireUser:
    """Refuses, as ``LoginGate`` does, a connection whose ``scope["user"]`` (set by the
    stack in front) is not logged in."""

    def __init__(self, app: WebSocketApp) -> None:
        self.app = app

    async def __call__(
        self, scope: WebSocketScope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        user: Any = scope.get("user")
        if user is not None and user.is_authenticated:
            await self.app(scope, receive, send)
            return
        await refuse(receive, send, for_page(refusal()), CLOSE_LOGIN_REQUIRED)


class DjangoAsyncUser:
    """The user from Django's own async API: ``SessionStore.aload()`` through
    ``auth.aget_user()``, which verifies the session's hash as ``get_user`` does."""

    def __init__(self, app: WebSocketApp) -> None:
        self.app = app

    async def __call__(
        self, scope: WebSocketScope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        store = import_module(settings.SESSION_ENGINE).SessionStore(session_key(scope))
        user = await aget_user(SimpleNamespace(session=store))  # type: ignore[arg-type]
        await self.app({**scope, "user": user}, receive, send)  # type: ignore[typeddict-unknown-key]


def _with_viewer(viewer: Any) -> Any:
    patterns = [
        path(VIEWER_ROUTE, viewer) if str(p.pattern) == VIEWER_ROUTE else p
        for p in websocket_urlpatterns
    ]
    assert sum(str(p.pattern) == VIEWER_ROUTE for p in patterns) == 1
    return ProtocolTypeRouter(
        {"http": http_app, "websocket": OriginGate(URLRouter(patterns), open_to_tools=NOTES)}
    )


auth_middleware_stack = _with_viewer(AuthMiddlewareStack(RequireUser(RoomConsumer.as_asgi())))
django_async = _with_viewer(DjangoAsyncUser(RequireUser(RoomConsumer.as_asgi())))
