"""How long a logged-in viewer takes to connect while a sync stream loops, by how its user
is looked up: the product's ``LoginGate`` (off the shared sync thread), Channels'
``AuthMiddlewareStack`` and Django's async session and auth API (bench/login_stacks.py).

    python -m bench.logins                # 3 repeats of each, about a minute
    python -m bench.logins --repeats 5

Each setup is a Daphne with DASHBOARD_LOGIN_REQUIRED on and one user, logged in through
the login page. A stream of ``--ticks`` sync ticks ``--interval`` s apart starts on the
default thread model; ``--after`` s after its card reads running, a new viewer with the
session connects: the time from asking to its handshake, and to its snapshot, is printed.
Figures are printed, never asserted: the machine is shared.
"""

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake

from streams.client import Viewer, handshake_headers, run_producer, ws_base
from tests.cards import card_body
from tests.servers import log_in, served

SETUPS = {
    "LoginGate (the product)": "dashboard_project.asgi:application",
    "Channels' AuthMiddlewareStack": "bench.login_stacks:auth_middleware_stack",
    "Django's aload() and aget_user()": "bench.login_stacks:django_async",
}
USER, PASSWORD = "bench", "a bench password"


@dataclass(frozen=True)
class Connect:
    handshake: float  # s from asking to the handshake's end
    snapshot: float  # s from asking to the first frame
    refused: int  # handshakes Daphne gave up on (after 5 s) before this one
    loop_left: float  # s the sync loop still had to run when the viewer asked


async def time_viewer(url: str, cookie: str, room: str) -> tuple[float, float, int]:
    """Connect a viewer of ``room`` as the page does, retrying a refused handshake as htmx
    does; (seconds to the handshake, seconds to the snapshot, refusals)."""
    asked, refused = time.monotonic(), 0
    while True:
        try:
            ws = await connect(
                f"{ws_base(url)}/ws/rooms/{room}/",
                additional_headers=handshake_headers(url, cookie),
                open_timeout=30,
            )
            break
        except InvalidHandshake:  # Daphne gives up on a handshake after 5 s
            refused += 1
    async with ws:
        handshake = time.monotonic() - asked
        await ws.recv()
        return handshake, time.monotonic() - asked, refused


async def once(
    url: str, cookie: str, room: str, ticks: int, interval: float, after: float
) -> Connect:
    async with Viewer(url, room, cookie) as starter:
        [number] = await starter.start("sync", count=ticks, interval=interval, streams=1)
        stream = asyncio.create_task(run_producer(url, room, "sync", number, cookie=cookie))
        await starter.wait_for(card_body(number))
        started = time.monotonic()
        await asyncio.sleep(after)
        left = ticks * interval - (time.monotonic() - started)
        handshake, snapshot, refused = await time_viewer(url, cookie, room)
        await stream
    return Connect(handshake, snapshot, refused, left)


def measure(app: str, repeats: int, ticks: int, interval: float, after: float) -> list[Connect]:
    env = {"DASHBOARD_LOGIN_REQUIRED": "true", "DJANGO_LOG_LEVEL": "WARNING"}
    with served(env=env, app=app) as server:  # and no traceback in its log
        server.create_user(USER, PASSWORD)
        cookie = log_in(server.url, USER, PASSWORD)
        return [
            asyncio.run(once(server.url, cookie, f"bench-{i}", ticks, interval, after))
            for i in range(repeats)
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ticks", type=int, default=2)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--after", type=float, default=0.5, help="s into the loop to connect")
    args = parser.parse_args()
    print(
        f"A logged-in viewer connecting {args.after} s into a sync stream of {args.ticks} "
        f"ticks {args.interval} s apart (Channels default thread model), {args.repeats} runs:\n"
    )
    print(
        "| user looked up by | handshake (s) | snapshot (s) | loop left when asked (s) | refused |"
    )
    print("| --- | --- | --- | --- | ---: |")
    for label, app in SETUPS.items():
        runs = measure(app, args.repeats, args.ticks, args.interval, args.after)
        shown = " ".join(f"{r.handshake:.3f}" for r in runs)
        snaps = " ".join(f"{r.snapshot:.3f}" for r in runs)
        left = statistics.median(r.loop_left for r in runs)
        print(f"| {label} | {shown} | {snaps} | {left:.2f} | {sum(r.refused for r in runs)} |")


if __name__ == "__main__":
    main()
