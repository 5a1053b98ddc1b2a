"""The naive baseline: this page's live updates as the Channels tutorial would write them.

    daphne bench.naive:application

Default ``AsyncWebsocketConsumer`` classes, so every message first waits for the shared
sync thread (``aclose_old_connections``); one channel-layer group member per viewer; each event
carries the stream's state and every viewer renders its own fragment from it. Same routes,
same fragments, same producer protocol as the product, so the same client measures it.
It sends the same empty snapshot on connect, so the client knows it is in the group.
"""

import asyncio
import json
import os
import time
from dataclasses import asdict, replace
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")
django_asgi_app = get_asgi_application()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from streams import fragments  # noqa: E402
from streams.choices import Mode, ThreadModel  # noqa: E402
from streams.stream import State, Stream  # noqa: E402
from streams.ticking import Ticker  # noqa: E402

RENDER = {
    "stream.started": fragments.stream_card,
    "stream.tick": fragments.stream_body,
    "stream.finished": fragments.stream_card,
}


def to_event(kind: str, stream: Stream) -> dict[str, Any]:
    """The state itself, not its HTML: plain values that any layer can serialize."""
    return {"type": "stream.update", "kind": kind, "stream": asdict(stream)}


def from_event(event: dict[str, Any]) -> Stream:
    fields = event["stream"]
    stream = Stream(**fields)
    return replace(
        stream,
        mode=Mode(fields["mode"]),
        state=State(fields["state"]),
        thread_model=ThreadModel(fields["thread_model"]) if fields["thread_model"] else None,
        recent_lateness=tuple(fields["recent_lateness"]),
    )


class ViewerConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.group = f"room.{self.scope['url_route']['kwargs']['room']}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send(text_data=fragments.columns([], time.time()))

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def stream_update(self, event: dict[str, Any]) -> None:
        html = RENDER[event["kind"]](from_event(event), time.time())
        await self.send(text_data=html)


class ProducerConsumer(AsyncWebsocketConsumer):
    ticking: "asyncio.Task[None] | None" = None

    async def connect(self) -> None:
        self.group = f"room.{self.scope['url_route']['kwargs']['room']}"
        await self.accept()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        order = json.loads(text_data or "{}")
        if self.ticking is None:
            self.ticking = asyncio.create_task(
                self.run(int(order["count"]), float(order["interval"]))
            )

    async def disconnect(self, code: int) -> None:
        if self.ticking is not None:
            self.ticking.cancel()

    async def run(self, count: int, interval: float) -> None:
        now = time.time()
        stream = Stream(self.group[5:], 1, Mode.ASYNC, count, interval, created_at=now)
        stream = stream.started(now, ThreadModel.SHARED)
        ticker = Ticker(stream)
        await self.publish("stream.started", stream)
        for seq in ticker.seqs:
            await asyncio.sleep(ticker.wait_before(seq))
            stream = ticker.tick(stream, seq)
            await self.publish("stream.tick", stream)
        await self.publish("stream.finished", stream.ended(State.DONE, time.time()))
        await self.close()

    async def publish(self, kind: str, stream: Stream) -> None:
        await self.channel_layer.group_send(self.group, to_event(kind, stream))
        late = stream.recent_lateness[-1] if stream.recent_lateness else None
        reply = {"type": kind, "stream": stream.number, "seq": stream.seq, "lateness": late}
        await self.send(text_data=json.dumps({**reply, "state": stream.state.value}))


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            URLRouter(
                [
                    path("ws/rooms/<str:room>/async/", ProducerConsumer.as_asgi()),
                    path("ws/rooms/<str:room>/", ViewerConsumer.as_asgi()),
                ]
            )
        ),
    }
)
