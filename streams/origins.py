"""Which pages may open the dashboard's WebSockets, and a refusal a page can explain.

Same host by default: the ``Origin`` a browser sends must name the host (and port) the
socket was opened on, and that host must be in ``ALLOWED_HOSTS``. With
``DASHBOARD_ALLOWED_ORIGINS`` set, the origin must be one of those exactly. A missing,
``null`` or unreadable origin is refused.

Channels' ``OriginValidator`` refuses at the handshake (HTTP 403), which a browser reports
as close code 1006, and the htmx ws extension retries that forever. ``OriginGate`` accepts,
sends the reason into the page's error panel and closes with 4403, which htmx does not retry.
"""

from collections.abc import Iterable
from typing import cast
from urllib.parse import urlsplit

from asgiref.typing import (
    ASGI3Application,
    ASGIReceiveCallable,
    ASGISendCallable,
    WebSocketCloseEvent,
    WebSocketScope,
    WebSocketSendEvent,
)
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from streams import fragments
from streams.close_codes import CLOSE_FOREIGN_ORIGIN

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
REFUSAL = (
    "This page's origin may not open the dashboard's WebSocket. Open the dashboard at its "
    "own address; operators allow more with DJANGO_ALLOWED_HOSTS or DASHBOARD_ALLOWED_ORIGINS."
)


def _origin_parts(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin, or None when it is not one."""
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in {"", "/"}:
        return None
    return parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


def origin_allowed(
    origin: str | None,
    host: str | None,
    allowed_hosts: Iterable[str],
    allowed_origins: Iterable[str] = (),
) -> bool:
    """Whether a socket opened on ``host`` (the Host header) from ``origin`` may go on."""
    if not origin or origin == "null":
        return False
    parts = _origin_parts(origin)
    if parts is None:
        return False
    explicit = [found for o in allowed_origins if (found := _origin_parts(o.strip()))]
    if explicit:
        return parts in explicit
    if not host:
        return False
    scheme, origin_host, origin_port = parts
    host_name, host_port = split_domain_port(host.lower())
    if not host_name or not validate_host(host_name, list(allowed_hosts)):
        return False
    port = int(host_port) if host_port.isdigit() else DEFAULT_PORTS[scheme]
    return (origin_host, origin_port) == (host_name, port)


def _header(scope: WebSocketScope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            try:
                return bytes(value).decode("ascii")
            except UnicodeDecodeError:
                return None
    return None


class OriginGate:
    """ASGI middleware for WebSocket routes: refuses foreign origins, explaining why.

    On the paths in ``open_to_tools`` (the source notes' ws/sc/ and ws/ac/), a handshake
    with no ``Origin`` at all is let in: websocat and Postman send none, and a browser
    always sends one, so the check that stops a foreign page still holds there."""

    def __init__(self, app: ASGI3Application, open_to_tools: tuple[str, ...] = ()) -> None:
        self.app = app
        self.open_to_tools = open_to_tools

    async def __call__(
        self, scope: WebSocketScope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        sent_origin = any(key == b"origin" for key, _ in scope.get("headers", []))
        tool = not sent_origin and scope["path"].startswith(self.open_to_tools)
        allowed = tool or origin_allowed(
            _header(scope, b"origin"),
            _header(scope, b"host"),
            settings.ALLOWED_HOSTS,
            settings.DASHBOARD_ALLOWED_ORIGINS,
        )
        if allowed:
            await self.app(scope, receive, send)
            return
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept", "subprotocol": None, "headers": []})
        # The spec lets optional keys be left out, as every consumer here does; asgiref's
        # TypedDicts list them all (and Channels' communicator refuses "bytes": None).
        refusal = {"type": "websocket.send", "text": fragments.error("room", REFUSAL)}
        await send(cast(WebSocketSendEvent, refusal))
        close = {"type": "websocket.close", "code": CLOSE_FOREIGN_ORIGIN}
        await send(cast(WebSocketCloseEvent, close))
        while (await receive())["type"] != "websocket.disconnect":
            pass
