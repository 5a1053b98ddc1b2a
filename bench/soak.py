"""A soak: a room watched for minutes on Redis while other viewers come and go beside it.

    python -m bench.soak                 # 10 minutes (make soak)
    python -m bench.soak --minutes 0.5   # a short one

The product on Daphne with the default Redis layer (pub/sub) and a throwaway Redis. 50
viewers watch one room for the whole run while two async streams tick in it, 20 ticks a
second in all; beside them, churners connect to another room, take their snapshot and
leave (every other one dropping its TCP connection), as fast as they are let. At the end:
what each watching viewer got of every tick (delivered, duplicated, out of order), and the
server's memory, descriptors and Redis clients at the start and the end. Printed, and
written as JSON; never asserted but by the smoke test that keeps it working.
"""

import argparse
import asyncio
import contextlib
import json
import re
import time
import uuid
from dataclasses import asdict, dataclass

import redis
from websockets.asyncio.client import connect

from bench import ticks
from bench.load import produce, raise_open_files
from bench.servers import Setup, serving, wait_idle
from streams.client import origin, ws_base
from streams.limits import ACK_EVERY
from tests.servers import ROOT, open_fds, redis_server, redis_server_binary, rss

WATCHERS = 50
CARD = re.compile(r"<article\b.*?</article>", re.S)
STREAMS = 2
INTERVAL = 0.1  # per stream: 20 ticks a second in the room
CHURNERS = 10  # connections coming and going at once


@dataclass
class Gauges:
    rss_mib: float
    fds: int
    redis_clients: int


@dataclass
class Soak:
    minutes: float
    watchers: int
    ticks_sent: int  # over the streams
    delivered_percent: float  # of every tick to every watcher, each counted once
    duplicates: int
    out_of_order: int  # ticks that arrived after a later one of the same stream
    churned: int  # connections that came and went beside
    churn_failures: int
    start: Gauges
    end: Gauges


class Watcher:
    """A viewer that keeps, per stream, every sequence number in the order it arrived."""

    def __init__(self, url: str, http_url: str) -> None:
        self.url, self.http_url = url, http_url
        self.seqs: dict[int, list[int]] = {}
        self.ready = asyncio.Event()

    async def watch(self) -> None:
        read = acked = 0
        async with connect(self.url, additional_headers={"Origin": origin(self.http_url)}) as ws:
            async for frame in ws:
                self.ready.set()
                text = frame if isinstance(frame, str) else frame.decode()
                read += len(text)
                if read - acked >= ACK_EVERY:  # as the page does
                    acked = read
                    await ws.send(json.dumps({"action": "ack", "read": read}))
                # A tick's body at the frame's top level; not the body inside a whole card
                # (a stream's start or end), which repeats the last tick.
                text = CARD.sub("", text)
                for number, seq in ticks.bodies(text.encode()):
                    if seq:
                        self.seqs.setdefault(number, []).append(seq)


async def churn(http_url: str, room: str, until: float, counts: list[int]) -> None:
    """One churner: connect, take the snapshot, leave, again, until ``until``."""
    url = f"{ws_base(http_url)}/ws/rooms/{room}/"
    while time.monotonic() < until:
        try:
            async with connect(url, additional_headers={"Origin": origin(http_url)}) as ws:
                await asyncio.wait_for(ws.recv(), 30)
                if counts[0] % 2:
                    ws.transport.abort()
            counts[0] += 1
        except Exception:  # a refusal is a figure
            counts[1] += 1


def gauges(pid: int, store: redis.Redis) -> Gauges:
    clients = int(store.info("clients")["connected_clients"]) - 1  # but this script's
    return Gauges(round(rss(pid) / 2**20, 1), open_fds(pid), clients)


async def soak(http_url: str, pid: int, store: redis.Redis, minutes: float) -> Soak:
    room = f"soak-{uuid.uuid4().hex[:8]}"
    watchers = [Watcher(f"{ws_base(http_url)}/ws/rooms/{room}/", http_url) for _ in range(WATCHERS)]
    watching = [asyncio.create_task(w.watch()) for w in watchers]
    await asyncio.wait_for(asyncio.gather(*(w.ready.wait() for w in watchers)), 30)
    await asyncio.sleep(1)
    start = gauges(pid, store)
    count = max(1, round(minutes * 60 / INTERVAL))
    until = time.monotonic() + count * INTERVAL
    churned = [0, 0]
    churners = [
        asyncio.create_task(churn(http_url, f"{room}-churn", until, churned))
        for _ in range(CHURNERS)
    ]
    runs = await asyncio.gather(*(produce(http_url, room, count, INTERVAL) for _ in range(STREAMS)))
    await asyncio.gather(*churners)
    await asyncio.sleep(3)  # the last ticks arrive, the churners' sockets close
    for task in watching:
        task.cancel()
    await asyncio.gather(*watching, return_exceptions=True)
    await asyncio.sleep(3)  # a quiet moment: their garbage is collected
    end = gauges(pid, store)

    sent = {run.number: max((e["seq"] for e in run.ticks), default=0) for run in runs}
    delivered = duplicates = disorder = 0
    for watcher in watchers:
        for number, last in sent.items():
            got = watcher.seqs.get(number, [])
            delivered += len({seq for seq in got if 1 <= seq <= last})
            duplicates += len(got) - len(set(got))
            disorder += sum(1 for a, b in zip(got, got[1:], strict=False) if b < a)
    total = sum(sent.values()) * WATCHERS
    return Soak(
        minutes=minutes,
        watchers=WATCHERS,
        ticks_sent=sum(sent.values()),
        delivered_percent=round(100 * delivered / total, 3) if total else 0.0,
        duplicates=duplicates,
        out_of_order=disorder,
        churned=churned[0],
        churn_failures=churned[1],
        start=start,
        end=end,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--json", default=".bench/soak.json")
    args = parser.parse_args(argv)
    raise_open_files()
    with redis_server(redis_server_binary()) as url:
        store = redis.Redis.from_url(url)
        with serving(Setup("product", "daphne", "pubsub"), url) as served:
            wait_idle(served.pid)
            found = asyncio.run(soak(served.url, served.pid, store, args.minutes))
        store.close()
    print(
        f"{found.minutes:g} min, {found.watchers} watchers, {found.ticks_sent} ticks: "
        f"delivered {found.delivered_percent}%, {found.duplicates} duplicates, "
        f"{found.out_of_order} out of order; {found.churned} churned beside "
        f"({found.churn_failures} failed)"
    )
    for name, value in (("start", found.start), ("end", found.end)):
        print(
            f"  {name}: RSS {value.rss_mib} MiB, {value.fds} fds, "
            f"{value.redis_clients} Redis clients"
        )
    path = ROOT / args.json
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(found), indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
