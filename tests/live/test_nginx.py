"""nginx in front of two Daphnes on one Redis and one database, as docs/operations.md shows.

The configuration is the doc's own ```nginx block ("Behind nginx"), read from the file and
changed only where it must be to run unprivileged on loopback: the ports and the static
directory (tests/servers.py, ``runnable_nginx_config``). A change to the doc changes what
runs here. The clients send the Host and Origin a browser on the nginx URL would.
"""

import asyncio
import contextlib
import re
import socket
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from streams.client import Viewer, origin, run_producer, ws_base
from streams.close_codes import CLOSE_FOREIGN_ORIGIN, RECONNECT
from tests.cards import card_body, cards
from tests.servers import (
    NGINX_MISSING,
    KillableRedis,
    Nginx,
    Server,
    fetch,
    nginx_binary,
    nginx_front,
    served,
)

pytestmark = pytest.mark.live

PROCESS = re.compile(r"process <b>([^<]+)</b>")
SNAPSHOT = 'id="async-streams"'  # both columns come in the snapshot a viewer gets first
REFUSED = "may not open the dashboard"  # what a page of a refused origin is told
# The closes a page comes back from by itself: its own script's (RECONNECT), and those the
# htmx ws extension retries.
PAGE_RECONNECTS = {*RECONNECT, 1006, 1011, 1012, 1013}


@dataclass
class Front:
    nginx: Nginx
    a: Server
    b: Server


def process_of(server: Server) -> str:
    """The name a server's gauges show: ``host:pid``."""
    assert server.proc is not None
    return f"{socket.gethostname()}:{server.proc.pid}"


@pytest.fixture(scope="module")
def front(shared_database_url: str) -> Iterator[Front]:
    if nginx_binary() is None:
        pytest.fail(NGINX_MISSING)
    env = {
        "DATABASE_URL": shared_database_url,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",  # the name the browser uses, as the doc says
        "DJANGO_SERVE_STATIC": "false",  # nginx serves collectstatic's output
    }
    with tempfile.TemporaryDirectory(prefix="redis-nginx-") as redis_dir:
        redis = KillableRedis(redis_dir)  # a Redis of its own, thrown away after
        redis.start()
        try:
            with (
                served(redis.url, env) as a,
                served(redis.url, env) as b,
                nginx_front([a.port, b.port]) as nginx,
            ):
                yield Front(nginx, a, b)
                logged = nginx.error_log.read_text()
        finally:
            redis.kill()
    assert not re.search(r"\[(alert|crit|emerg)\]", logged), logged


def test_the_page_and_its_static_files_come_through_nginx(front, room):
    status, page = fetch(f"{front.nginx.url}/{room}/")
    assert status == 200
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    assert "/static/css/dashboard.css" in assets
    for asset in assets:
        with urllib.request.urlopen(front.nginx.url + asset, timeout=10) as response:
            served_by_nginx = response.read()
            kind = response.headers["Content-Type"]
        collected = front.nginx.static_root / asset.removeprefix("/static/")
        assert served_by_nginx == collected.read_bytes()
        assert kind == {"css": "text/css", "js": "text/javascript"}[asset.rpartition(".")[2]]
        # The Daphnes serve none: it came from nginx, out of collectstatic's output.
        assert fetch(front.a.url + asset)[0] == 404


def test_metrics_are_not_served_through_nginx_only_on_each_process(front):
    """Behind nginx every client's address is nginx's, loopback, which /metrics answers: the
    documented block keeps it from the outside, and Prometheus scrapes each process."""
    status, text = fetch(f"{front.nginx.url}/metrics")
    assert status == 404 and "dashboard_" not in text
    for server in (front.a, front.b):
        status, text = fetch(f"{server.url}/metrics")
        assert status == 200 and "dashboard_viewers" in text


async def test_pages_through_nginx_go_live_one_on_each_process(front, room):
    async with Viewer(front.nginx.url, room) as first:
        await _snapshot(first)  # the WebSocket was upgraded through nginx
        # least_conn: the next socket goes to the process with fewer open.
        async with Viewer(front.nginx.url, room) as second:
            await _snapshot(second)
            named = [
                PROCESS.search(await viewer.wait_for('<p id="gauges"'))[1]
                for viewer in (first, second)
            ]
    assert sorted(named) == sorted([process_of(front.a), process_of(front.b)])


async def _snapshot(viewer: Viewer) -> str:
    while True:
        _, frame = await viewer.next_frame(10)
        assert REFUSED not in frame, (
            "a page of nginx's own origin was refused: the Host nginx forwards must keep "
            "the port the browser sent ($http_host), since the Origin check compares them"
        )
        if SNAPSHOT in frame:
            return frame


async def test_a_page_of_another_origin_is_still_refused_through_nginx(front, room):
    address = f"{ws_base(front.nginx.url)}/ws/rooms/{room}/"
    async with connect(address, additional_headers={"Origin": "http://elsewhere.example"}) as ws:
        assert REFUSED in str(await ws.recv())
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert ws.close_code == CLOSE_FOREIGN_ORIGIN


async def test_a_stream_run_on_one_process_ticks_on_the_other_and_through_nginx(front, room):
    a, b = front.a, front.b
    async with (
        Viewer(a.url, room) as on_a,
        Viewer(front.nginx.url, room) as through_nginx,
        Viewer(b.url, room) as on_b,
    ):
        [number] = await on_b.start("sync", count=6, interval=0.1, streams=1)
        run = await run_producer(b.url, room, "sync", number)  # its loop runs in b
        assert run.outcome == "done"
        for viewer in (on_a, through_nginx):
            assert await _ticks_until_done(viewer, number) == [1, 2, 3, 4, 5, 6]
    _, page = await asyncio.to_thread(fetch, f"{front.nginx.url}/{room}/")
    assert f"#{number}" in page.split('id="history-rows"')[1]  # b's row, in the shared database


async def _ticks_until_done(viewer: Viewer, number: int) -> list[int]:
    """The tick numbers of stream ``number`` this viewer was shown, once it shows it done."""
    seen: list[int] = []
    while True:
        _, frame = await viewer.next_frame(10)
        for n, state, seq in cards(frame):
            if n == number and state == "done":
                return seen
            if n == number and seq:
                seen.append(seq)


class Page:
    """A page's viewer socket as the page keeps it, through one URL: reconnected half a
    second after it closes. Records each connection's process (its gauges) and snapshot
    cards, and each close code."""

    def __init__(self, url: str, room: str) -> None:
        self.url, self.room = url, room
        self.connections: list[tuple[str, list[tuple[int, str, int]]]] = []
        self.closes: list[int | None] = []
        self.changed = asyncio.Event()
        self.task = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        address = f"{ws_base(self.url)}/ws/rooms/{self.room}/"
        while True:
            ws = None
            with contextlib.suppress(OSError, InvalidHandshake, ConnectionClosed, TimeoutError):
                async with connect(address, additional_headers={"Origin": origin(self.url)}) as ws:
                    snapshot = await self._frame(ws, SNAPSHOT)
                    gauges = await self._frame(ws, '<p id="gauges"')
                    self.connections.append((PROCESS.search(gauges)[1], cards(snapshot)))
                    self.changed.set()
                    async for _frame in ws:
                        pass
            self.closes.append(None if ws is None else ws.close_code)
            await asyncio.sleep(0.5)

    @staticmethod
    async def _frame(ws, pattern: str) -> str:
        while pattern not in (frame := str(await ws.recv())):
            pass
        return frame

    async def wait(self, until, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while not until():
                self.changed.clear()
                await self.changed.wait()


async def test_stopping_a_process_sends_its_pages_to_the_other(front, room):
    """SIGTERM to one Daphne: its page comes back through nginx by itself, on the other
    process, to a snapshot with the running stream's counters; the other page stays."""
    a, b = front.a, front.b
    on_a, on_b = process_of(a), process_of(b)
    async with Viewer(b.url, room) as starter:
        [number] = await starter.start("async", count=300, interval=0.05, streams=1)
        producing = asyncio.create_task(run_producer(b.url, room, "async", number))
        await starter.wait_for(card_body(number) + ' data-seq="2"')
        pages: list[Page] = []
        try:
            # Pages until one is on a; least_conn gives it the first or the second (the
            # third if a socket of an earlier test is still closing).
            while not any(page.connections[0][0] == on_a for page in pages):
                assert len(pages) < 3, [page.connections for page in pages]
                pages.append(page := Page(front.nginx.url, room))
                await page.wait(lambda page=page: page.connections, timeout=10)
            *stayed, moved = pages
            stopped_at = time.monotonic()
            await asyncio.to_thread(a.stop)
            await moved.wait(lambda: moved.connections[-1][0] == on_b, timeout=15)
            back_after = time.monotonic() - stopped_at
            assert moved.closes and set(moved.closes) <= PAGE_RECONNECTS, moved.closes
            [(state, seq)] = [(s, q) for n, s, q in moved.connections[-1][1] if n == number]
            assert state == "running" and seq > 2  # the counters, not zeros
            for page in stayed:  # the pages on b were not disturbed
                assert [process for process, _ in page.connections] == [on_b]
                assert not page.closes
        finally:
            for page in pages:
                page.task.cancel()
        await starter.send({"action": "stop", "stream": number})
        assert (await producing).outcome == "stopped"
    a.assert_no_traceback()
    print(f"\nthe page was back on the other process {back_after:.2f} s after the SIGTERM")
    a.start()  # as the fixture promised it: a front of two processes
