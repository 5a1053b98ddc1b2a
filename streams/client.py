"""A WebSocket client of the dashboard, as a terminal or a test sees it.

It does what the page does: asks the room for streams, then opens one producer connection
per stream and sends ``run``, retrying a refused handshake as htmx does (Daphne refuses one
after 5 s while the shared sync thread is held). Every time is taken on this client's own
monotonic clock, so a run's figures are what a user would see.
"""

import asyncio
import contextlib
import html
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from streams.limits import ACK_EVERY
from streams.stream import END_EVENTS

PRODUCER = re.compile(r'id="producer-(\d+)"')
ERROR = re.compile(r'<div id="errors-(\w+)" class="errors"[^>]*>([^<]+)</div>')
RETRY_DELAY = 0.1


class ClientError(RuntimeError):
    """The server refused what the client asked for; the message is the server's."""


@dataclass
class ProducerRun:
    mode: str
    number: int | None
    requested_at: float
    attempts: int = 0
    started_at: float | None = None
    ended_at: float | None = None
    outcome: str = ""
    ticks: list[tuple[int, float, float]] = field(default_factory=list)  # seq, lateness, at

    @property
    def waited(self) -> float | None:
        return None if self.started_at is None else self.started_at - self.requested_at

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at


def ws_base(http_url: str) -> str:
    parts = urlsplit(http_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}"


def origin(http_url: str) -> str:
    parts = urlsplit(http_url)
    return f"{parts.scheme}://{parts.netloc}"


def handshake_headers(http_url: str, cookie: str | None) -> dict[str, str]:
    """What a page of ``http_url`` sends: its Origin and, with ``cookie`` (e.g.
    ``sessionid=...`` when the server has DASHBOARD_LOGIN_REQUIRED), its cookies."""
    return {"Origin": origin(http_url), **({"Cookie": cookie} if cookie else {})}


class Viewer:
    """The page's one connection to a room."""

    def __init__(self, http_url: str, room: str, cookie: str | None = None) -> None:
        self.http_url = http_url
        self.room = room
        self.cookie = cookie
        self.frames: asyncio.Queue[tuple[float, str]] = asyncio.Queue()
        self.read = 0  # characters of every frame read so far
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "Viewer":
        self._ws = await connect(
            f"{ws_base(self.http_url)}/ws/rooms/{self.room}/",
            additional_headers=handshake_headers(self.http_url, self.cookie),
            open_timeout=10,
        )
        self._reader = asyncio.create_task(self._read(self._ws))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._ws is not None:
            await self._ws.close()

    async def _read(self, ws: ClientConnection) -> None:
        """Every frame, into ``frames``; and, as the page does, an ack every ``ACK_EVERY``
        characters read, or the server would take this client for one that stopped reading."""
        acked = 0
        async for frame in ws:
            text = str(frame)
            self.frames.put_nowait((time.monotonic(), text))
            self.read += len(text)
            if self.read - acked >= ACK_EVERY:
                acked = self.read
                await ws.send(json.dumps({"action": "ack", "read": acked}))

    @property
    def open(self) -> bool:
        """Its connection is up: the server has not closed it."""
        return self._ws is not None and self._ws.close_code is None

    def abort(self) -> None:
        """Drop the TCP connection without a closing handshake, as a vanished client."""
        assert self._ws is not None
        self._ws.transport.abort()

    async def send(self, command: dict[str, Any]) -> None:
        assert self._ws is not None
        await self._ws.send(json.dumps(command))

    async def next_frame(self, timeout: float) -> tuple[float, str]:
        return await asyncio.wait_for(self.frames.get(), timeout)

    async def wait_for(self, pattern: str, timeout: float = 10) -> str:
        """The first frame from now on that contains ``pattern``."""
        deadline = time.monotonic() + timeout
        while True:
            _, text = await self.next_frame(deadline - time.monotonic())
            if pattern in text:
                return text

    async def start(
        self,
        mode: str,
        count: int,
        interval: float,
        streams: int,
        work: str = "sleep",
        cost: int = 0,
    ) -> list[int]:
        """Ask the room for streams; their numbers, or the server's refusal as ClientError."""
        order = {"action": "start", "mode": mode, "count": count, "interval": interval}
        await self._order(order | {"streams": streams, "work": work, "cost": cost or ""})
        return await self._await_reply(lambda text: [int(n) for n in PRODUCER.findall(text)])

    async def set_thread_model(self, model: str) -> None:
        await self._order({"action": "thread_model", "model": model})
        await self._await_reply(lambda text: 'id="thread-model"' in text or None)

    async def _order(self, command: dict[str, Any]) -> None:
        """Send a command; if the server has closed the socket already, what it said
        before closing (a refusal) is the reply ``_await_reply`` finds."""
        with contextlib.suppress(ConnectionClosed):
            await self.send(command)

    async def _await_reply(self, parse: Any, timeout: float = 10) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            if self.frames.empty() and self._reader is not None and self._reader.done():
                code = self._ws.close_code if self._ws is not None else None
                raise ClientError(f"the server closed the connection (code {code})")
            try:
                _, text = await self.next_frame(min(0.25, deadline - time.monotonic()))
            except TimeoutError:
                if time.monotonic() >= deadline:
                    raise
                continue
            for _panel, message in ERROR.findall(text):
                if message.strip():
                    raise ClientError(html.unescape(message.strip()))
            found = parse(text)
            if found:
                return found


async def run_producer(
    http_url: str,
    room: str,
    mode: str,
    number: int | None = None,
    count: int = 0,
    interval: float = 0.0,
    requested_at: float | None = None,
    on_tick: Any = None,
    work: str = "sleep",
    cost: int = 0,
    cookie: str | None = None,
) -> ProducerRun:
    """Run one stream on its own producer connection until it ends.

    With ``number``, run the stream the room registered; without, register one of ``count``
    ticks every ``interval`` seconds, as a terminal client does.
    """
    run = ProducerRun(mode, number, requested_at or time.monotonic())
    query = f"?stream={number}" if number is not None else ""
    url = f"{ws_base(http_url)}/ws/rooms/{room}/{mode}/{query}"
    order: dict[str, Any] = {"action": "run"}
    own = {"count": count, "interval": interval, "work": work, "cost": cost or ""}
    order.update({"stream": number} if number is not None else own)
    while True:
        run.attempts += 1
        try:
            ws = await connect(
                url, additional_headers=handshake_headers(http_url, cookie), open_timeout=30
            )
            break
        except (InvalidStatus, InvalidHandshake, TimeoutError):
            # Daphne refuses a handshake the shared thread did not accept within 5 s.
            await asyncio.sleep(RETRY_DELAY)
    async with ws:
        with contextlib.suppress(ConnectionClosed):  # refused at once: its reason comes next
            await ws.send(json.dumps(order))
        async for frame in ws:
            event = json.loads(frame)
            now = time.monotonic()
            kind = event.get("type")
            if kind == "error":
                raise ClientError(event["message"])
            if kind == "stream.started":
                run.started_at, run.number = now, event["stream"]
            elif kind == "stream.tick":
                run.ticks.append((event["seq"], event["lateness"], now))
                if on_tick is not None:
                    on_tick(run, event)
            elif kind in END_EVENTS:
                run.ended_at, run.outcome = now, event["state"]
                break
    return run


async def run_streams(
    http_url: str,
    room: str,
    mode: str,
    count: int,
    interval: float,
    streams: int,
    on_tick: Any = None,
    work: str = "sleep",
    cost: int = 0,
    cookie: str | None = None,
) -> list[ProducerRun]:
    """Ask the room for ``streams`` streams and run them all at once, as the page does."""
    async with Viewer(http_url, room, cookie) as viewer:
        requested_at = time.monotonic()
        numbers = await viewer.start(mode, count, interval, streams, work, cost)
        return list(
            await asyncio.gather(
                *(
                    run_producer(
                        http_url,
                        room,
                        mode,
                        n,
                        requested_at=requested_at,
                        on_tick=on_tick,
                        cookie=cookie,
                    )
                    for n in numbers
                )
            )
        )


def overlap(runs: list[ProducerRun]) -> float:
    """Seconds during which every run was running at once (0 when some never overlapped)."""
    starts = [r.started_at for r in runs if r.started_at is not None]
    ends = [r.ended_at for r in runs if r.ended_at is not None]
    if len(starts) != len(runs) or len(ends) != len(runs):
        return 0.0
    return max(0.0, min(ends) - max(starts))
