"""Every close code the dashboard sends, provoked through a real server, Daphne and uvicorn.

The communicator accepts any code; servers do not all pass them on: Daphne (autobahn) lets
an application close only with 1000 or 3000-4999, and refused a 1013 with a traceback while
the client saw 1011. So each code is sent here for real and read back by an outside client,
and neither server may log a traceback doing it.
"""

import asyncio
import json
import tempfile
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from streams.client import Viewer, origin, run_producer, ws_base
from streams.close_codes import (
    CLOSE_BAD_ROOM,
    CLOSE_DONE,
    CLOSE_FOREIGN_ORIGIN,
    CLOSE_FULL,
    CLOSE_LOGIN_REQUIRED,
    CLOSE_REFUSED,
    CLOSE_TRY_AGAIN,
    CLOSE_UNREAD,
    RECONNECT,
)
from tests.servers import KillableRedis, Server, served

pytestmark = pytest.mark.live

LIMITS = {"DASHBOARD_MAX_VIEWERS_PER_PROCESS": "2", "DASHBOARD_MAX_UNREAD_CHARS": "20000"}


@pytest.fixture(params=["daphne", "uvicorn"])
def store_and_server(request: pytest.FixtureRequest) -> Iterator[tuple[KillableRedis, Server]]:
    with tempfile.TemporaryDirectory(prefix="close-codes-") as workdir:
        store = KillableRedis(workdir)
        store.start()
        try:
            with served(store.url, env=LIMITS, kind=request.param) as server:
                yield store, server
        finally:
            if store.proc is not None and store.proc.poll() is None:
                store.kill()


async def closed_with(ws: ClientConnection, timeout: float = 15) -> tuple[int | None, str]:
    """Read until the server closes; its close code, and everything it sent before."""
    frames = []
    async with asyncio.timeout(timeout):
        try:
            async for frame in ws:
                frames.append(str(frame))
        except ConnectionClosed:
            pass
    return ws.close_code, "".join(frames)


def socket(url: str, path: str, page: str | None = None) -> "connect":
    return connect(
        ws_base(url) + path, additional_headers={"Origin": page or origin(url)}, open_timeout=10
    )


async def admitted(url: str, room: str) -> ClientConnection:
    """A viewer past its snapshot, once the process has counted the last ones out (the
    server handles their closes a moment after the client sees them)."""
    async with asyncio.timeout(10):
        while True:
            ws = await socket(url, f"/ws/rooms/{room}/")
            if 'id="sync-streams"' in str(await ws.recv()):
                return ws
            await ws.close()
            await asyncio.sleep(0.1)


async def test_every_close_code_reaches_the_client_as_sent(store_and_server, room):
    store, server = store_and_server
    url = server.url

    async with socket(url, "/ws/rooms/bad%20room/") as ws:
        assert (await closed_with(ws))[0] == CLOSE_BAD_ROOM
    async with socket(url, "/ws/nowhere/") as ws:
        assert (await closed_with(ws))[0] == CLOSE_BAD_ROOM
    async with socket(url, f"/ws/rooms/{room}/", page="http://elsewhere.example") as ws:
        code, said = await closed_with(ws)
        assert code == CLOSE_FOREIGN_ORIGIN and "may not open" in said
    async with socket(url, f"/ws/rooms/{room}/async/") as ws:
        await ws.send(json.dumps({"action": "run", "stream": 987654}))
        code, said = await closed_with(ws)
        assert code == CLOSE_REFUSED and "No stream 987654" in said
    async with socket(url, f"/ws/rooms/{room}/sync/") as ws:
        await ws.send(json.dumps({"action": "run", "count": 2, "interval": 0.01}))
        code, said = await closed_with(ws)
        assert code == CLOSE_DONE and "stream.finished" in said

    # The process's limit of viewers (2 here): the third is told so, then closed.
    async with Viewer(url, room), Viewer(url, room), socket(url, f"/ws/rooms/{room}/") as third:
        code, said = await closed_with(third)
        assert code == CLOSE_FULL and "limit of 2 viewers" in said

    # A viewer that reads but never says so, while a stream ticks: closed past 20,000
    # characters unread.
    async with await admitted(url, room) as silent:
        ticking = asyncio.create_task(run_producer(url, room, "async", count=300, interval=0.01))
        code, _ = await closed_with(silent)
        assert code == CLOSE_UNREAD
        await ticking

    # Redis gone: a page connecting is shown the banner and closed with the code it retries.
    store.kill()
    async with socket(url, f"/ws/rooms/{room}/") as ws:
        code, said = await closed_with(ws)
        assert code == CLOSE_TRY_AGAIN and "Channel layer unavailable" in said
    assert CLOSE_TRY_AGAIN in RECONNECT and CLOSE_UNREAD in RECONNECT


@pytest.mark.parametrize("kind", ["daphne", "uvicorn"])
async def test_the_login_close_reaches_the_client_as_sent(kind, room):
    # Its own server: with logins on, the sockets above would all get this one.
    with served(env={"DASHBOARD_LOGIN_REQUIRED": "true"}, kind=kind) as server:
        async with socket(server.url, f"/ws/rooms/{room}/") as ws:
            code, said = await closed_with(ws)
    assert code == CLOSE_LOGIN_REQUIRED and "needs a login" in said
    assert CLOSE_LOGIN_REQUIRED not in RECONNECT
