"""The source notes' own endpoints: ``ws/sc/`` and ``ws/ac/``, as the Channels notes have them.

A client (websocat, Postman, a browser's console) connects, sends any text, and gets 50
text messages, ``0`` to ``49``, one a second: from a ``SyncConsumer`` pacing with
``time.sleep`` on ``ws/sc/``, from an ``AsyncConsumer`` pacing with ``asyncio.sleep`` on
``ws/ac/``. ``ws/sc/<group>/`` and ``ws/ac/<group>/`` choose the room, the notes' dynamic
group name; without one it is the lobby. They are the dashboard's own producers with the
notes' protocol on the wire, so each run shows in its room's column, from a plain
WebSocket client, and is recorded like any other.
"""

import json
from typing import Any

from streams.producers import AsyncTickConsumer, SyncTickConsumer

ORDER = json.dumps({"action": "run", "count": 50, "interval": 1})
Message = dict[str, Any]


def _as_order(message: Message) -> Message:
    """Whatever the client sent: the notes' loop, 50 ticks a second apart."""
    return {"type": "websocket.receive", "text": ORDER}


def _text(payload: Message) -> str | None:
    """What the notes' client is sent of a producer's reply: each tick as its count from
    0, a refusal as its reason; nothing of the rest."""
    if payload.get("type") == "stream.tick":
        return str(payload["seq"] - 1)
    if payload.get("type") == "error":
        return f"error: {payload['message']}"
    return None


def _as_plain_client(scope: Any, endpoint: str) -> Any:
    client = scope.get("client")
    where = f" at {client[0]}" if client else ""
    return {**scope, "source": f"a plain WebSocket client{where} ({endpoint})"}


class NotesSyncConsumer(SyncTickConsumer):
    """``ws/sc/``: the notes' SyncConsumer, time.sleep between sends."""

    scope: Any  # Channels' consumers set it in __call__

    def websocket_receive(self, message: Message) -> None:
        self.scope = _as_plain_client(self.scope, "ws/sc/")
        super().websocket_receive(_as_order(message))

    def reply(self, payload: Message) -> None:
        text = _text(payload)
        if text is not None:
            with self.client_may_be_gone():
                self.send({"type": "websocket.send", "text": text})


class NotesAsyncConsumer(AsyncTickConsumer):
    """``ws/ac/``: the notes' AsyncConsumer, asyncio.sleep between sends."""

    scope: Any

    async def websocket_receive(self, message: Message) -> None:
        self.scope = _as_plain_client(self.scope, "ws/ac/")
        await super().websocket_receive(_as_order(message))

    async def reply(self, payload: Message) -> None:
        text = _text(payload)
        if text is not None:
            await self.send({"type": "websocket.send", "text": text})
