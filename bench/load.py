"""The viewers: N WebSocket clients of one room, in a process of their own.

    python -m bench.load --url http://127.0.0.1:8000 --viewers 500 --count 50

Each viewer speaks to the room as the page does: it opens ``ws/rooms/<room>/`` with the
page's ``Origin``, offers permessage-deflate as browsers do, waits for its first frame (the
snapshot: it is then a member of the room), and reads fragments. Once all are in, one
producer connection runs one async stream of ``count`` ticks every ``interval`` seconds,
as ``manage.py run_streams`` does. The product, the naive baseline and the raw server all
speak this much of the protocol, so one client measures all three.

Viewers are websockets' Sans-I/O protocol under asyncio protocols: a frame is timed in the
callback that reads it, with no task switch per frame, so the client spends as little of
the shared machine as it can. Prints one JSON object on stdout.
"""

import argparse
import asyncio
import contextlib
import json
import resource
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any, cast

from websockets.asyncio.client import connect
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosedError
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.typing import Origin
from websockets.uri import parse_uri

from bench import stats, ticks
from streams.client import Viewer as PageViewer
from streams.client import origin, ws_base
from streams.limits import ACK_EVERY

CONNECT_TIMEOUT = 30.0
DRAIN = 5.0  # after the last tick is sent, how long a fragment may still arrive


class Viewer(asyncio.Protocol):
    """One page's connection to the room: records when each card body first arrived."""

    def __init__(self, url: str, page_origin: str) -> None:
        self.ws = ClientProtocol(
            parse_uri(url),
            origin=Origin(page_origin),
            extensions=[ClientPerMessageDeflateFactory(client_max_window_bits=True)],
        )
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.arrivals: dict[tuple[int, int], float] = {}  # (stream, seq) -> first arrival
        self.awaited: tuple[tuple[int, int], asyncio.Future[None]] | None = None
        self.frames = 0
        self.upgraded_at = self.ready_at = 0.0  # monotonic: the HTTP 101, the snapshot
        self.read = self.acked = 0  # bytes: never fewer than the characters the server counts

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self.ws.send_request(self.ws.connect())
        self.flush()

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.ws.receive_data(data)
        self.flush()  # pongs, and the close handshake
        for event in self.ws.events_received():
            if isinstance(event, Response):
                self.upgraded_at = now
                if self.ws.handshake_exc is not None and not self.ready.done():
                    self.ready.set_exception(self.ws.handshake_exc)
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self.frames += 1
                self.read += len(event.data)
                if self.read - self.acked >= ACK_EVERY:  # as the page does
                    self.acked = self.read
                    self.ws.send_text(json.dumps({"action": "ack", "read": self.read}).encode())
                    self.flush()
                if not self.ready.done():
                    self.ready_at = now
                    self.ready.set_result(None)  # the snapshot: a member of the room now
                for key in ticks.bodies(bytes(event.data)):
                    self.arrivals.setdefault(key, now)
                    if self.awaited is not None and self.awaited[0] == key:
                        self.awaited[1].set_result(None)
                        self.awaited = None

    def eof_received(self) -> bool | None:
        self.ws.receive_eof()
        self.flush()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(exc or ConnectionError("closed before its snapshot"))
        if not self.closed.done():
            self.closed.set_result(None)

    def flush(self) -> None:
        assert self.transport is not None
        for data in self.ws.data_to_send():
            if data:
                self.transport.write(data)
            elif self.transport.can_write_eof():
                self.transport.write_eof()
        if self.ws.close_expected():
            self.transport.close()

    def arrived(self, key: tuple[int, int]) -> "asyncio.Future[None]":
        """Done once the card body ``key`` (stream, seq) has arrived."""
        future = asyncio.get_running_loop().create_future()
        if key in self.arrivals:
            future.set_result(None)
        else:
            self.awaited = (key, future)
        return future

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.ws.send_close()
            self.flush()


@dataclass
class Result:
    viewers: int
    connected: int
    failed: int
    first_error: str | None
    connect_seconds: float
    sent: int  # ticks the producer reported
    received: int  # tick fragments that reached a viewer, each counted once per viewer
    lost: int  # ticks sent that a connected viewer never got (gaps and tail)
    fragments_per_s: float
    lateness: stats.Lateness | None  # arrival at a viewer minus the tick's due time
    send_lateness: stats.Lateness | None  # the producer's own figure: sent minus due
    other_frames: int  # snapshots, whole cards, gauges, history rows
    client_cpu_s: float  # this process's CPU during the ticks
    streams: int = 1  # streams ticking in the room at once
    frames_per_viewer_s: float = 0.0  # every frame a viewer got, per second of the run
    bytes_per_viewer_s: float = 0.0
    producers_dropped: int = 0  # producer connections the server dropped mid-stream


async def open_viewers(url: str, page_origin: str, viewers: int, concurrency: int) -> Any:
    """Open ``viewers`` connections, ``concurrency`` handshakes at a time."""
    loop = asyncio.get_running_loop()
    uri = parse_uri(url)
    gate = asyncio.Semaphore(concurrency)
    opened: list[Viewer] = []
    errors: list[str] = []

    async def open_one() -> None:
        async with gate:
            try:
                _, viewer = await asyncio.wait_for(
                    loop.create_connection(lambda: Viewer(url, page_origin), uri.host, uri.port),
                    CONNECT_TIMEOUT,
                )
                opened.append(viewer)
                await asyncio.wait_for(viewer.ready, CONNECT_TIMEOUT)
            except Exception as error:  # every kind of refusal is a figure, not a crash
                errors.append(f"{type(error).__name__}: {error}"[:200])

    await asyncio.gather(*(open_one() for _ in range(viewers)))
    ok = [
        v for v in opened if v.ready.done() and not v.ready.cancelled() and not v.ready.exception()
    ]
    return ok, errors


@dataclass
class Produced:
    asked_at: float  # monotonic, when ``run`` was sent
    number: int  # the stream's number in the room
    ticks: list[dict[str, Any]]  # the producer's tick events, as JSON
    dropped: bool = False  # the server dropped its connection before the stream ended


async def produce(
    http_url: str, room: str, count: int, interval: float, mode: str = "async"
) -> Produced:
    """One stream on its own producer connection, run to its end as ``manage.py
    run_streams`` runs one: ``{"action": "run", "count": C, "interval": S}``."""
    url = f"{ws_base(http_url)}/ws/rooms/{room}/{mode}/"
    number, events, dropped = None, [], False
    async with connect(url, additional_headers={"Origin": origin(http_url)}) as ws:
        asked_at = time.monotonic()
        await ws.send(json.dumps({"action": "run", "count": count, "interval": interval}))
        try:
            async for frame in ws:
                event = json.loads(frame)
                if event["type"] == "error":
                    raise RuntimeError(f"the producer was refused: {event['message']}")
                if event["type"] == "stream.started":
                    number = event["stream"]
                elif event["type"] == "stream.tick":
                    events.append(event)
                elif event["type"] in {"stream.finished", "stream.stopped"}:
                    break
        except ConnectionClosedError:
            dropped = True  # a failed point (the server gave up on it), not a failed run
    if number is None:
        raise RuntimeError("the stream never started")
    return Produced(asked_at, number, events, dropped)


async def measure(
    http_url: str,
    viewers: int,
    count: int,
    interval: float,
    concurrency: int,
    modes: tuple[str, ...] = ("async",),
    per_connection: bool = False,
) -> Result:
    """One point: ``viewers`` in a room where a stream per item of ``modes`` ticks, all at
    once; with ``per_connection`` the room's sync streams get a thread each (the product's
    thread model; the others have none to switch)."""
    room = f"bench-{uuid.uuid4().hex[:8]}"
    url = f"{ws_base(http_url)}/ws/rooms/{room}/"
    if per_connection:
        async with PageViewer(http_url, room) as page:
            await page.set_thread_model("per_connection")
    asked = time.monotonic()
    connected, errors = await open_viewers(url, origin(http_url), viewers, concurrency)
    connect_seconds = time.monotonic() - asked
    try:
        cpu_before = time.process_time()
        runs = await asyncio.wait_for(
            asyncio.gather(*(produce(http_url, room, count, interval, m) for m in modes)),
            count * interval + 60,
        )
        sent = {r.number: max((event["seq"] for event in r.ticks), default=0) for r in runs}
        if connected:
            last = [v.arrived((number, seq)) for v in connected for number, seq in sent.items()]
            await asyncio.wait(last, timeout=DRAIN)
        client_cpu = time.process_time() - cpu_before
    finally:
        for viewer in connected:
            viewer.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(v.closed for v in connected)), 5)
        for viewer in connected:
            if viewer.transport is not None:
                viewer.transport.abort()

    wall_minus_monotonic = time.time() - time.monotonic()
    late: list[float] = []
    lost = 0
    first_due, last_arrival = float("inf"), 0.0
    for run in runs:
        start = ticks.schedule_start(run.asked_at, run.ticks, interval, wall_minus_monotonic)
        first_due = min(first_due, ticks.scheduled_at(start, 1, interval))
        for viewer in connected:
            seen = {seq: at for (n, seq), at in viewer.arrivals.items() if n == run.number}
            lost += stats.missing(seen, sent[run.number])
            late += [at - ticks.scheduled_at(start, s, interval) for s, at in seen.items() if s]
            last_arrival = max([last_arrival, *(at for s, at in seen.items() if s)])
    span = max(last_arrival - first_due + interval, interval)
    frames = sum(v.frames for v in connected)
    return Result(
        viewers=viewers,
        connected=len(connected),
        failed=viewers - len(connected),
        first_error=errors[0] if errors else None,
        connect_seconds=round(connect_seconds, 3),
        sent=sum(sent.values()),
        received=len(late),
        lost=lost,
        fragments_per_s=round(len(late) / span, 1) if span > 0 else 0.0,
        lateness=stats.lateness(late),
        send_lateness=stats.lateness(
            event.get("lateness") or 0.0 for run in runs for event in run.ticks
        ),
        other_frames=frames - len(late),
        client_cpu_s=round(client_cpu, 3),
        streams=len(modes),
        frames_per_viewer_s=round(frames / len(connected) / span, 2) if connected else 0.0,
        bytes_per_viewer_s=round(sum(v.read for v in connected) / len(connected) / span)
        if connected
        else 0.0,
        producers_dropped=sum(run.dropped for run in runs),
    )


@dataclass
class Idle:
    viewers: int
    seconds: float
    frames_per_viewer_s: float  # what a room with nothing running costs each viewer
    bytes_per_viewer_s: float


async def measure_idle(http_url: str, viewers: int, seconds: float) -> Idle:
    """``viewers`` in a room where nothing runs, for ``seconds`` after their snapshots."""
    url = f"{ws_base(http_url)}/ws/rooms/bench-{uuid.uuid4().hex[:8]}/"
    connected, _ = await open_viewers(url, origin(http_url), viewers, viewers)
    await asyncio.sleep(2)  # the joins' own news (presence) is over
    before = [(v.frames, v.read) for v in connected]
    await asyncio.sleep(seconds)
    frames = sum(v.frames - f for v, (f, _) in zip(connected, before, strict=True))
    read = sum(v.read - r for v, (_, r) in zip(connected, before, strict=True))
    for viewer in connected:
        viewer.close()
    n = max(1, len(connected))
    return Idle(len(connected), seconds, round(frames / n / seconds, 2), round(read / n / seconds))


def raise_open_files() -> None:
    """One descriptor per viewer: lift the soft limit to the hard one."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def event_loop_factory() -> Any:
    """uvloop when installed (a dev dependency): a leaner client leaves more of the two
    cores to the server under test."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--viewers", type=int, required=True)
    parser.add_argument("--count", type=int, default=50, help="ticks in the stream")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between ticks")
    parser.add_argument("--concurrency", type=int, default=200, help="handshakes at a time")
    parser.add_argument("--idle", type=float, help="seconds of a room with nothing running")
    parser.add_argument("--async-streams", type=int, default=1)
    parser.add_argument("--sync-streams", type=int, default=0)
    parser.add_argument(
        "--per-connection", action="store_true", help="a thread per connection (the product)"
    )
    args = parser.parse_args(argv)
    raise_open_files()
    if args.idle:
        idle = asyncio.run(measure_idle(args.url, args.viewers, args.idle))
        json.dump(asdict(idle), sys.stdout)
        sys.stdout.write("\n")
        return
    result = asyncio.run(
        measure(
            args.url,
            args.viewers,
            args.count,
            args.interval,
            args.concurrency,
            ("async",) * args.async_streams + ("sync",) * args.sync_streams,
            args.per_connection,
        ),
        loop_factory=event_loop_factory(),
    )
    json.dump(asdict(result), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
