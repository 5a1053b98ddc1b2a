"""Helpers for driving the real ASGI application with Channels' WebsocketCommunicator."""

import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from channels.testing import WebsocketCommunicator

from dashboard_project.asgi import application
from streams.stream import END_EVENTS
from tests.cards import cards

ORIGIN = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]


async def eventually[T](
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], timeout: float = 5
) -> T:
    """``probe()`` again and again until ``done`` with its value; that value. For state that
    settles just after what a test can await (a consumer's cleanup, a report)."""
    deadline = time.monotonic() + timeout
    while not done(value := await probe()):
        assert time.monotonic() < deadline, f"still {value!r} after {timeout} s"
        await asyncio.sleep(0.02)
    return value


OPENED: list[WebsocketCommunicator] = []  # for close_what_is_left()


def communicator(path: str, cookie: str | None = None) -> WebsocketCommunicator:
    """A client of ``path`` from the dashboard's own page; with ``cookie``, its Cookie
    header (a logged-in session: tests/asgi/test_logins.py)."""
    headers = ORIGIN + ([(b"cookie", cookie.encode("latin-1"))] if cookie else [])
    comm = WebsocketCommunicator(application, path, headers=headers)
    OPENED.append(comm)
    return comm


async def close_what_is_left() -> None:
    """Disconnect every communicator a test left open, so each consumer runs its
    websocket_disconnect and cleanup instead of being cancelled when collected."""
    while OPENED:
        comm = OPENED.pop()
        # ``_future``, not ``future``: reading the property would start an application.
        running = comm._future  # noqa: SLF001
        if running is not None and not running.done():
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await comm.disconnect(timeout=2)


async def open_viewer(room: str, cookie: str | None = None) -> tuple[WebsocketCommunicator, str]:
    """A connected viewer and the snapshot it got on connecting."""
    viewer = communicator(f"/ws/rooms/{room}/", cookie)
    connected, _ = await viewer.connect(timeout=10)  # generous: the machine is shared
    assert connected
    return viewer, await viewer.receive_from(timeout=5)


async def receive_until(comm: WebsocketCommunicator, done: Any, timeout: float = 10) -> list[str]:
    """Frames received until ``done(frames)`` is true; fails after ``timeout`` seconds."""
    frames: list[str] = []
    deadline = time.monotonic() + timeout
    while not done(frames):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"timed out; got {len(frames)} frames: {frames[-3:]}"
        frames.append(await comm.receive_from(timeout=remaining))
    return frames


def ended(number: int, state: str = "done") -> Callable[[list[str]], bool]:
    """For ``receive_until``: stream ``number``'s card has reached ``state``."""
    return lambda frames: any(c[0] == number and c[1] == state for c in cards(frames))


async def start(
    viewer: WebsocketCommunicator,
    mode: str,
    count: int,
    interval: float,
    streams: int = 1,
    work: str = "sleep",
    cost: int = 0,
) -> list[int]:
    """Ask for streams as the page does; the numbers of the streams registered."""
    order = {"action": "start", "mode": mode, "count": count, "interval": interval}
    await viewer.send_json_to(order | {"streams": streams, "work": work, "cost": cost or ""})
    frames = await receive_until(viewer, lambda fs: "producer-" in "".join(fs))
    return [int(n) for n in re.findall(r'id="producer-(\d+)"', "".join(frames))]


async def open_producer(
    room: str, mode: str, number: int, cookie: str | None = None
) -> WebsocketCommunicator:
    producer = communicator(f"/ws/rooms/{room}/{mode}/?stream={number}", cookie)
    connected, _ = await producer.connect(timeout=10)
    assert connected
    await producer.send_json_to({"action": "run", "stream": number})
    return producer


async def running_stream(
    viewer: WebsocketCommunicator,
    room: str,
    mode: str,
    count: int,
    interval: float,
    seen: int = 2,
) -> tuple[int, WebsocketCommunicator]:
    """A stream started and run by its producer until ``viewer`` has seen ``seen`` ticks."""
    [number] = await start(viewer, mode, count, interval)
    producer = await open_producer(room, mode, number)
    await receive_until(viewer, lambda fs: any(c[0] == number and c[2] >= seen for c in cards(fs)))
    return number, producer


async def run_to_end(producer: WebsocketCommunicator, timeout: float = 10) -> list[dict[str, Any]]:
    """A producer's JSON replies up to its end event, then its close."""
    replies: list[dict[str, Any]] = []
    while not replies or replies[-1]["type"] not in {*END_EVENTS, "error"}:
        replies.append(await producer.receive_json_from(timeout=timeout))
    if replies[-1]["type"] != "error":
        assert (await producer.receive_output(timeout=timeout))["type"] == "websocket.close"
    return replies


def is_gauges(frame: str) -> bool:
    """A process gauge update, which reaches every viewer about three times a second."""
    return frame.lstrip().startswith('<p id="gauges"')


def is_timeline(frame: str) -> bool:
    """The room's timeline, redrawn on state changes and twice a second while streams run."""
    return frame.lstrip().startswith('<section id="timeline"')


def is_presence(frame: str) -> bool:
    """A viewer count update, sent within half a second of a viewer joining or leaving."""
    return frame.lstrip().startswith('<p id="presence"')


def is_ambient(frame: str) -> bool:
    """A frame any viewer gets whatever it asked: gauges, the viewer count, the timeline."""
    return is_gauges(frame) or is_presence(frame) or is_timeline(frame)


async def receive_reply(comm: WebsocketCommunicator) -> str:
    """The next frame that is neither a gauge update nor a viewer count."""
    frames = await receive_until(comm, lambda fs: bool(fs) and not is_ambient(fs[-1]))
    return frames[-1]


async def receive_only_gauges(comm: WebsocketCommunicator, seconds: float) -> list[str]:
    """Frames received for ``seconds``, each asserted to be ambient: a process gauge update
    or a viewer count, which any join may set off."""
    frames: list[str] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if await comm.receive_nothing(timeout=left):
            break
        frames.append(await comm.receive_from())
    assert all(is_ambient(f) for f in frames), frames
    return frames
