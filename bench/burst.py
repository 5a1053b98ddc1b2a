"""A connect burst: N viewers of one room connecting in the same instant.

    python -m bench.burst --url http://127.0.0.1:8000 --viewers 1000 --processes 4

The viewers are split over ``--processes`` client processes (one client alone would measure
its own event loop), which all start at the same wall-clock instant. Each connection is
timed from the moment its client starts connecting to its HTTP 101 and to its first frame,
the room's snapshot: what a page waits before it shows anything live. Prints one JSON object.
"""

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

from websockets.uri import parse_uri

from bench import stats
from bench.load import CONNECT_TIMEOUT, Viewer, event_loop_factory, raise_open_files
from bench.servers import Setup, serving, wait_idle
from bench.servers import redis as redis_for
from streams.client import origin, ws_base
from tests.servers import ROOT

START_DELAY = 2.0  # seconds from launching the clients to the burst: all are ready by then
PROCESSES = 4  # client processes: one alone would measure its own event loop


@dataclass
class Burst:
    viewers: int
    connected: int
    failed: int
    first_error: str | None
    upgraded: stats.Lateness | None  # seconds to the HTTP 101 (p50, p99, max)
    snapshot: stats.Lateness | None  # seconds to the first frame


async def connect_all(url: str, viewers: int, at: float) -> dict[str, Any]:
    """One client process's share: ``viewers`` connections at once, at wall time ``at``."""
    loop = asyncio.get_running_loop()
    uri = parse_uri(url)
    await asyncio.sleep(max(0.0, at - time.time()))
    began = time.monotonic()
    opened: list[Viewer] = []

    async def one() -> str | None:
        try:
            _, viewer = await asyncio.wait_for(
                loop.create_connection(lambda: Viewer(url, origin_of(url)), uri.host, uri.port),
                CONNECT_TIMEOUT,
            )
            opened.append(viewer)
            await asyncio.wait_for(viewer.ready, CONNECT_TIMEOUT)
        except Exception as error:  # a refusal is a figure, not a crash
            return f"{type(error).__name__}: {error}"[:200]
        return None

    errors = [e for e in await asyncio.gather(*(one() for _ in range(viewers))) if e]
    times = [(v.upgraded_at - began, v.ready_at - began) for v in opened if v.ready_at]
    for viewer in opened:
        viewer.close()
    await asyncio.sleep(0.5)
    for viewer in opened:
        if viewer.transport is not None:
            viewer.transport.abort()
    return {"times": times, "errors": errors}


def origin_of(ws_url: str) -> str:
    return origin(ws_url.replace("ws://", "http://", 1).replace("wss://", "https://", 1))


def measure(http_url: str, viewers: int, processes: int, room: str) -> Burst:
    """Start the client processes, let them burst together, and put their times together."""
    at = time.time() + START_DELAY
    url = f"{ws_base(http_url)}/ws/rooms/{room}/"
    shares = [viewers // processes + (i < viewers % processes) for i in range(processes)]
    clients = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.burst",
                "--client",
                "--url",
                url,
                "--viewers",
                str(share),
                "--at",
                repr(at),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for share in shares
    ]
    upgraded: list[float] = []
    snapshot: list[float] = []
    errors: list[str] = []
    for client in clients:
        out, _ = client.communicate(timeout=CONNECT_TIMEOUT + 30)
        found = json.loads(out.strip().splitlines()[-1])
        upgraded += [up for up, _ in found["times"]]
        snapshot += [first for _, first in found["times"]]
        errors += found["errors"]
    return Burst(
        viewers=viewers,
        connected=len(snapshot),
        failed=viewers - len(snapshot),
        first_error=errors[0] if errors else None,
        upgraded=stats.lateness(upgraded),
        snapshot=stats.lateness(snapshot),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--viewers", type=int, required=True)
    parser.add_argument("--processes", type=int, default=PROCESSES)
    parser.add_argument("--room", default="burst")
    parser.add_argument("--client", action="store_true", help="one client process (internal)")
    parser.add_argument("--at", type=float, help="wall time to burst at (with --client)")
    args = parser.parse_args(argv)
    raise_open_files()
    if args.client:
        found = asyncio.run(
            connect_all(args.url, args.viewers, args.at), loop_factory=event_loop_factory()
        )
        print(json.dumps(found))
        return
    print(json.dumps(asdict(measure(args.url, args.viewers, args.processes, args.room))))


if __name__ == "__main__":
    main()


@dataclass
class BurstPoint:
    setup: str
    burst: Burst


def run_all(setups: list[Setup], viewers: int, repeats: int) -> list[BurstPoint]:
    """Each setup served in turn, warmed up, then burst ``repeats`` times."""
    points = []
    for setup in setups:
        with contextlib.ExitStack() as stack:
            url = stack.enter_context(redis_for()) if setup.needs_redis else None
            served = stack.enter_context(serving(setup, url))
            measure(served.url, 20, 1, "warm-up")
            wait_idle(served.pid)
            for repeat in range(repeats):
                point = BurstPoint(
                    setup.label, measure(served.url, viewers, PROCESSES, f"b{repeat}")
                )
                print(row(point), flush=True)
                points.append(point)
                wait_idle(served.pid)
    return points


HEADER = f"{'setup':<36} {'N':>5} {'ok':>5}  101 p50/p99 s   snapshot p50/p99 s"


def row(point: BurstPoint) -> str:
    b = point.burst
    up = f"{b.upgraded.p50:.2f} / {b.upgraded.p99:.2f}" if b.upgraded else "-"
    first = f"{b.snapshot.p50:.2f} / {b.snapshot.p99:.2f}" if b.snapshot else "-"
    return f"{point.setup:<36} {b.viewers:>5} {b.connected:>5}  {up:<15} {first}"
