"""Room names and the channel-layer group names derived from them.

Channels accepts group names of ASCII letters, digits, ``-``, ``_`` and ``.`` under 100
characters, but its own regex lets non-ASCII digits and a trailing newline through, so every
name is checked here, with an explicit ASCII class and ``\\Z``, before any group call.
"""

import re
from collections.abc import Mapping
from typing import cast

from asgiref.typing import WebSocketScope

DEFAULT_ROOM = "lobby"
MAX_ROOM_LENGTH = 64
# A letter or digit first: no "..", which a browser resolves away from the room's URL.
_ROOM = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_.-]{{0,{MAX_ROOM_LENGTH - 1}}}\Z")


# Paths of the project's own pages: no room is named like them.
RESERVED = frozenset({"api", "explain", "metrics", "accounts", "admin", "static"})


class InvalidRoom(ValueError):
    """A room name that cannot name a channel-layer group."""


def validate_room(room: str) -> str:
    if room in RESERVED:
        raise InvalidRoom(f"{room!r} is the address of one of the dashboard's own pages.")
    if not _ROOM.match(room):
        raise InvalidRoom(
            f"Room names are 1-{MAX_ROOM_LENGTH} ASCII letters, digits, '-', '_' or '.', "
            "starting with a letter or digit."
        )
    return room


def room_group(room: str) -> str:
    """The group every viewer of ``room`` joins and every producer sends to."""
    return f"room.{validate_room(room)}"


def stream_group(room: str, number: int) -> str:
    """The group a running async stream listens on for a stop."""
    return f"stream.{validate_room(room)}.{number}"


def room_from_scope(scope: WebSocketScope) -> str | None:
    """The room named in a WebSocket's URL (Channels' ``URLRouter`` puts it in the scope's
    ``url_route``), or None when it is not a room name."""
    route = cast(Mapping[str, object], scope).get("url_route")
    kwargs = route.get("kwargs") if isinstance(route, Mapping) else None
    room = kwargs.get("room") if isinstance(kwargs, Mapping) else None
    try:
        return validate_room(room) if isinstance(room, str) else None
    except InvalidRoom:
        return None
