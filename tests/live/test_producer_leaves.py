"""A producer's client that leaves mid-stream, through a real Daphne and a real uvicorn.

The two servers differ on a send to a client that has left: Daphne drops it, uvicorn
raises ``ClientDisconnected`` (an ``OSError``, as the ASGI spec has it). Raised out of the
async loop's last ``close()`` it was a "Task exception was never retrieved" traceback for
every such stream, and raised out of a sync loop's next tick it failed a stream that
should have gone on, orphaned.
"""

import asyncio
import json

import pytest
from websockets.asyncio.client import connect

from streams.client import Viewer, origin, ws_base
from tests.cards import card_body, cards
from tests.servers import served

pytestmark = pytest.mark.live


async def left_after_start(url: str, room: str, mode: str) -> int:
    """Run a stream of 10 ticks × 0.1 s on a producer connection, and close it once the
    stream has started: the stream's number."""
    async with connect(
        f"{ws_base(url)}/ws/rooms/{room}/{mode}/",
        additional_headers={"Origin": origin(url)},
        open_timeout=10,
    ) as ws:
        await ws.send(json.dumps({"action": "run", "count": 10, "interval": 0.1}))
        async with asyncio.timeout(10):
            while True:
                said = json.loads(await ws.recv())
                if said["type"] == "stream.tick":
                    return int(said["stream"])


@pytest.mark.parametrize("kind", ["daphne", "uvicorn"])
async def test_a_producer_whose_client_leaves_ends_as_its_mode_says(kind, room):
    with served(kind=kind) as server:  # fails on exit if the server logged a traceback
        async with Viewer(server.url, room) as viewer:
            await viewer.wait_for('id="sync-streams"')
            async_number = await left_after_start(server.url, room, "async")
            sync_number = await left_after_start(server.url, room, "sync")
            seen: list[str] = []
            stopped_at = 0
            async with asyncio.timeout(15):
                ended = card_body(sync_number, "done"), card_body(sync_number, "failed")
                while not any(end in "".join(seen) for end in ended):
                    seen.append((await viewer.next_frame(15))[1])
                    if card_body(async_number, "stopped") in seen[-1]:
                        stopped_at = len(seen)
            # The async loop stops with its client; the sync loop cannot know, and ticks on,
            # to its end: all 10 ticks, never failed (uvicorn shows it orphaned meanwhile).
            assert stopped_at
            sync_cards = [card for card in cards(seen) if card[0] == sync_number]
            assert sync_cards[-1] == (sync_number, "done", 10)
            assert all(state != "failed" for _, state, _ in sync_cards)
