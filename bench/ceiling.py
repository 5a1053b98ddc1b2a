"""A server's own ceiling: a bare ASGI application, no Django in the loop, no Channels.

    daphne bench.ceiling:application
    uvicorn bench.ceiling:application --ws-per-message-deflate false

It speaks what the load client uses of the product's protocol, as bench/raw.py does, with
the product's own bytes (``streams.events.stream_event``, rendered once per event): a
viewer of ``ws/rooms/<room>/`` is accepted and sent the room's empty snapshot, then every
fragment, each event a frame of its own; ``ws/rooms/<room>/async/`` takes ``{"action":
"run", "count": C, "interval": S}`` and ticks. What it does per viewer is one ``await
send()`` of the same text: whatever an ASGI server cannot do faster than this, no app on it
can, so the product is measured against it on each server.
"""

import asyncio
import itertools
import json
import os
import time
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")
django.setup()

from streams import events, fragments  # noqa: E402
from streams.choices import Mode, ThreadModel  # noqa: E402
from streams.stream import State, Stream  # noqa: E402
from streams.ticking import Ticker  # noqa: E402

Send = Any  # the server's ASGI send callable
ROOMS: dict[str, set[Send]] = {}
NUMBERS = itertools.count(1)
SNAPSHOT = fragments.columns([], time.time())


async def broadcast(room: str, text: str) -> None:
    message = {"type": "websocket.send", "text": text}
    for send in list(ROOMS.get(room, ())):
        try:
            await send(message)
        except Exception:  # closed meanwhile: its disconnect takes it out
            ROOMS.get(room, set()).discard(send)


async def publish(send: Send, room: str, kind: str, stream: Stream) -> None:
    event = events.stream_event(kind, stream, time.time())
    await broadcast(room, event["html"])
    await send({"type": "websocket.send", "text": json.dumps(events.for_client(event))})


async def run_stream(send: Send, room: str, count: int, interval: float) -> None:
    now = time.time()
    stream = Stream(room, next(NUMBERS), Mode.ASYNC, count, interval, created_at=now)
    stream = stream.started(now, ThreadModel.SHARED)
    ticker = Ticker(stream)
    await publish(send, room, "stream.started", stream)
    for seq in ticker.seqs:
        await asyncio.sleep(ticker.wait_before(seq))
        stream = ticker.tick(stream, seq)
        await publish(send, room, "stream.tick", stream)
    await publish(send, room, "stream.finished", stream.ended(State.DONE, time.time()))


async def application(scope: Any, receive: Any, send: Send) -> None:
    if scope["type"] != "websocket":
        return
    parts = scope["path"].strip("/").split("/")  # ws, rooms, <room>[, async]
    if (await receive())["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    if parts[:2] != ["ws", "rooms"] or len(parts) not in (3, 4):
        await send({"type": "websocket.close", "code": 4404})
        return
    room = parts[2]
    if len(parts) == 3:
        viewers = ROOMS.setdefault(room, set())
        viewers.add(send)
        try:
            await send({"type": "websocket.send", "text": SNAPSHOT})
            while (await receive())["type"] != "websocket.disconnect":
                pass  # acks, read as the room consumer reads them
        finally:
            viewers.discard(send)
        return
    message = await receive()
    if message["type"] == "websocket.receive":
        order = json.loads(message["text"])
        await run_stream(send, room, int(order["count"]), float(order["interval"]))
        await send({"type": "websocket.close", "code": 1000})
