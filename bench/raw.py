"""The limit: a minimal broadcast server written with ``websockets``, no Channels, no layer.

    python -m bench.raw --port 8001

It speaks as much of the product's protocol as the load client uses: ``ws/rooms/<room>/``
gets a snapshot, then every fragment; ``ws/rooms/<room>/async/`` takes ``{"action": "run",
"count": C, "interval": S}`` and answers with the producer's JSON events. Each tick renders
the product's own fragment once (``streams.events.stream_event``) and hands the same bytes
to every viewer with ``websockets.broadcast``: one write per socket and nothing else, which
is as little as a Python server can do per viewer. No compression: the fastest it can be.
"""

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import os
import time
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")
django.setup()

from websockets.asyncio.server import ServerConnection, broadcast, serve  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

from bench.load import raise_open_files  # noqa: E402
from streams import events, fragments  # noqa: E402
from streams.choices import Mode, ThreadModel  # noqa: E402
from streams.stream import State, Stream  # noqa: E402
from streams.ticking import Ticker  # noqa: E402

ROOMS: dict[str, set[ServerConnection]] = {}
NUMBERS = itertools.count(1)


def publish(ws: ServerConnection, room: str, kind: str, stream: Stream) -> Any:
    """The room gets the fragment, the producer the JSON, as the product sends them."""
    event = events.stream_event(kind, stream, time.time())
    broadcast(ROOMS.get(room, set()), event["html"])
    return ws.send(json.dumps(events.for_client(event)))


async def run_stream(ws: ServerConnection, room: str, count: int, interval: float) -> None:
    now = time.time()
    stream = Stream(room, next(NUMBERS), Mode.ASYNC, count, interval, created_at=now)
    stream = stream.started(now, ThreadModel.SHARED)
    ticker = Ticker(stream)
    await publish(ws, room, "stream.started", stream)
    for seq in ticker.seqs:
        await asyncio.sleep(ticker.wait_before(seq))
        stream = ticker.tick(stream, seq)
        await publish(ws, room, "stream.tick", stream)
    await publish(ws, room, "stream.finished", stream.ended(State.DONE, time.time()))


async def handler(ws: ServerConnection) -> None:
    assert ws.request is not None
    parts = ws.request.path.strip("/").split("/")  # ws, rooms, <room>[, async]
    if parts[:2] != ["ws", "rooms"] or len(parts) not in (3, 4):
        await ws.close(4404)
        return
    room = parts[2]
    if len(parts) == 3:
        viewers = ROOMS.setdefault(room, set())
        viewers.add(ws)
        try:
            await ws.send(fragments.columns([], time.time()))
            with contextlib.suppress(ConnectionClosed):
                async for _ack in ws:  # read what the viewer sends, as the room consumer does
                    pass
        finally:
            viewers.discard(ws)
        return
    with contextlib.suppress(ConnectionClosed):
        order = json.loads(await ws.recv())
        await run_stream(ws, room, int(order["count"]), float(order["interval"]))
        await ws.close()


async def main(port: int, backlog: int, tuned_gc: bool) -> None:
    raise_open_files()
    if tuned_gc:  # as dashboard_project/asgi.py does
        gc.freeze()
        gc.set_threshold(700, 10, 1000)
    async with serve(handler, "127.0.0.1", port, compression=None, backlog=backlog) as server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--backlog", type=int, default=4096)
    parser.add_argument("--gc", action="store_true", help="tune the GC as the product does")
    args = parser.parse_args()
    asyncio.run(main(args.port, args.backlog, args.gc))
