"""A client that stops reading, against a real Daphne: it is cut off before the server's
memory grows by 20 MiB, and the page that reads goes on.

The stalled client is a raw socket: it does the WebSocket handshake, then never reads
again, with a 4 KiB receive buffer so the kernel holds little for it. Daphne (Twisted) keeps
writing into a buffer of its own for it, without bound; what bounds that is the room
consumer's flow control (``Unread``): a viewer that has not acked 4 MiB is closed.
Loopback only; about 15 s.
"""

import asyncio
import base64
import os
import socket
import struct
import time
from dataclasses import dataclass

import pytest

from streams.client import Viewer, run_producer
from tests.servers import rss, served

pytestmark = pytest.mark.live

MiB = 1024 * 1024
TCP_ESTABLISHED = 1  # tcp_info's first byte: the connection's state
PAST_THE_LIMIT = 6 * MiB  # the server's limit is 4 MiB unread (DASHBOARD_MAX_UNREAD_CHARS)


def stalled_viewer(port: int, room: str) -> socket.socket:
    """A viewer of ``room`` that reads its handshake's answer and nothing after."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /ws/rooms/{room}/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Origin: http://127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    answer = b""
    while not answer.endswith(b"\r\n\r\n"):
        answer += sock.recv(1)  # byte by byte: not one byte of a frame is read
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


def established(sock: socket.socket) -> bool:
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
    return struct.unpack("B", info[:1])[0] == TCP_ESTABLISHED


@dataclass
class Stalled:
    cut_after: float | None  # seconds from the first tick to the server dropping it
    growth: int  # the server's largest RSS while it was connected, over the baseline
    read_by_the_page: int  # characters the reading page got, the whole run
    page_kept: bool  # the reading page's connection stayed up throughout


async def stall_under_load(
    url: str, pid: int, room: str, streams: int = 6, seconds: float = 30
) -> Stalled:
    """Fast async streams in ``room``, watched by a page that reads and acks and by a
    stalled client; until the server drops the stalled one, or ``seconds``."""
    port = int(url.rsplit(":", 1)[1])
    async with Viewer(url, room) as page:
        stalled = stalled_viewer(port, room)
        await page.wait_for("<b>2</b> viewers in this room")  # both joined
        baseline = rss(pid)
        numbers = await page.start("async", count=10_000, interval=0.01, streams=streams)
        producers = [
            asyncio.create_task(run_producer(url, room, "async", n, requested_at=time.monotonic()))
            for n in numbers
        ]
        began, peak, cut_after = time.monotonic(), baseline, None
        while time.monotonic() - began < seconds:
            await asyncio.sleep(0.1)
            peak = max(peak, rss(pid))
            if not established(stalled):
                cut_after = time.monotonic() - began
                break
        # The page reads on past the limit (a page that did not ack would be cut at it),
        # then stops the streams. Polled: the page's reader counts as frames arrive.
        deadline = time.monotonic() + 15
        while page.read < PAST_THE_LIMIT and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        for number in numbers:
            await page.send({"action": "stop", "stream": number})
        await asyncio.wait_for(asyncio.gather(*producers), 30)
        stalled.close()
        return Stalled(cut_after, peak - baseline, page.read, page.open)


async def test_a_client_that_stops_reading_is_cut_off_before_memory_grows_20_mib(room):
    with served() as server:
        assert server.proc is not None
        found = await stall_under_load(server.url, server.proc.pid, room)
        log = server.log.read_text()
    print(found)
    assert found.cut_after is not None, f"still connected after 30 s: {found}"
    assert found.growth < 20 * MiB, found
    # The page beside it read past the limit and was kept: its acks count.
    assert found.page_kept and found.read_by_the_page >= PAST_THE_LIMIT, found
    assert "it has not read the last" in log
