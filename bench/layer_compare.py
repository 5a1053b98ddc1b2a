"""channels_redis' core layer against its pub/sub layer: what chose the default.

    python -m bench.layer_compare            # about a minute
    python -m bench.layer_compare --json out.json

Each layer is driven through the channel-layer API alone (no Daphne, no consumers), against
a throwaway redis-server on a free port that this script may kill. Three measurements:

1. **Latency**: 50 members of one group, 300 group messages at 100/s. Each message carries
   its send time; each member records its receive time. Delivered share, p50/p99/max.
2. **Churn**: the same, while 40 more members join, read a little and leave over and over;
   and 5 other "processes" (layer instances of their own) each add 10 members and close
   without ``group_discard``, as a killed server process does. Delivered share to the 50
   steady members, and the ghosts those dead processes left in Redis.
3. **Outage**: the members listen while messages go out at 20/s; Redis is killed (SIGKILL),
   and started again on the same port 2 s later. What ``group_send`` did meanwhile, how many
   messages the existing members got after Redis came back, and how long that took.

Figures are printed, never asserted: tests/live/test_layer_compare.py only checks the script runs.
"""

import argparse
import asyncio
import contextlib
import json
import logging
import tempfile
import time
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer

from dashboard_project import environment
from streams.schedule import percentile
from tests.servers import KillableRedis as Redis

LAYERS = {"core": RedisChannelLayer, "pubsub": RedisPubSubChannelLayer}


@dataclass
class Figures:
    layer: str
    sent: int = 0
    expected: int = 0  # messages x steady members
    delivered: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    ghosts: int | None = None
    send_errors: list[str] = field(default_factory=list)
    after_restart: int | None = None  # messages the old members got once Redis was back
    resumed_after_s: float | None = None  # from Redis answering to the first such message

    @property
    def delivered_share(self) -> float:
        return self.delivered / self.expected if self.expected else 0.0


@contextlib.contextmanager
def redis() -> Iterator[Redis]:
    with tempfile.TemporaryDirectory(prefix="layer-compare-") as workdir:
        server = Redis(workdir)
        server.start()
        try:
            yield server
        finally:
            server.kill()


def make_layer(kind: str, url: str) -> Any:
    config = environment.channel_layer(kind, url)["CONFIG"]
    return LAYERS[kind](**config)


async def close(layer: Any) -> None:
    if isinstance(layer, RedisPubSubChannelLayer):
        await layer.flush()
    else:
        await layer.close_pools()


class Member:
    """One group member reading its channel and noting each message's delay."""

    def __init__(self, layer: Any, group: str) -> None:
        self.layer, self.group = layer, group
        self.delays: list[float] = []
        self.seqs: list[int] = []
        self.received_at: list[float] = []
        self.task: asyncio.Task[None] | None = None

    async def join(self) -> None:
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(self.group, self.channel)
        self.task = asyncio.create_task(self.read())

    async def read(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis is gone: keep trying, as a consumer's loop does
                await asyncio.sleep(0.1)
                continue
            now = time.monotonic()
            self.delays.append(now - message["sent"])
            self.seqs.append(message["seq"])
            self.received_at.append(now)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


async def send_at(
    layer: Any, group: str, count: int, rate: float, figures: Figures, start_seq: int = 1
) -> None:
    """``count`` group messages at ``rate`` per second, paced to their due times."""
    began = time.monotonic()
    for i in range(count):
        await asyncio.sleep(max(0.0, began + i / rate - time.monotonic()))
        message = {"type": "tick", "seq": start_seq + i, "sent": time.monotonic()}
        try:
            await asyncio.wait_for(layer.group_send(group, message), 1.0)
            figures.sent += 1
        except Exception as error:  # noqa: BLE001 - what the layer raises is the finding
            figures.send_errors.append(type(error).__name__)


def summarize(figures: Figures, members: list[Member]) -> None:
    delays = sorted(d for m in members for d in m.delays)
    figures.delivered = sum(len(m.delays) for m in members)
    if delays:
        figures.p50_ms = round(percentile(delays, 0.50) * 1000, 2)
        figures.p99_ms = round(percentile(delays, 0.99) * 1000, 2)
        figures.max_ms = round(delays[-1] * 1000, 2)


async def drained(members: list[Member], sent: int, timeout: float = 5.0) -> None:
    """Until every member has had every message sent, or ``timeout`` seconds: what has not
    arrived by then counts as not delivered."""
    deadline = time.monotonic() + timeout
    # Polls: one condition over many members' counters, bounded by the deadline.
    while any(len(m.seqs) < sent for m in members) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


async def latency(kind: str, url: str, members: int, messages: int) -> Figures:
    layer, group = make_layer(kind, url), f"cmp-{uuid.uuid4().hex[:8]}"
    figures = Figures(kind)
    steady = [Member(layer, group) for _ in range(members)]
    for member in steady:
        await member.join()
    await asyncio.sleep(0.2)
    await send_at(layer, group, messages, 100, figures)
    await drained(steady, figures.sent)
    for member in steady:
        await member.stop()
    figures.expected = figures.sent * members
    summarize(figures, steady)
    await close(layer)
    return figures


async def churn(kind: str, url: str, members: int, messages: int, churners: int) -> Figures:
    layer, group = make_layer(kind, url), f"cmp-{uuid.uuid4().hex[:8]}"
    figures = Figures(kind)
    steady = [Member(layer, group) for _ in range(members)]
    for member in steady:
        await member.join()

    stopping = asyncio.Event()

    async def come_and_go(index: int) -> None:
        # Each comes and goes whole, as a consumer does, and is told to stop between
        # visits: cancelled in the middle of a layer command, redis-py's pub/sub connection
        # can be left shared by two readers, which is not what this compares.
        while not stopping.is_set():
            member = Member(layer, group)
            await member.join()
            await asyncio.sleep(0.05 + (index % 5) * 0.02)
            await member.stop()
            await layer.group_discard(group, member.channel)

    async def killed_process() -> None:
        dead = make_layer(kind, url)
        doomed = [Member(dead, group) for _ in range(10)]
        for member in doomed:
            await member.join()
        await asyncio.sleep(0.3)
        for member in doomed:
            await member.stop()
        await close(dead)  # its connections close; nothing leaves the group

    churning = [asyncio.create_task(come_and_go(i)) for i in range(churners)]
    await asyncio.sleep(0.2)
    await asyncio.gather(
        send_at(layer, group, messages, 100, figures), *(killed_process() for _ in range(5))
    )
    await drained(steady, figures.sent)
    stopping.set()
    await asyncio.gather(*churning)
    for member in steady:
        await member.stop()
    figures.expected = figures.sent * members
    summarize(figures, steady)
    figures.ghosts = await ghost_members(kind, layer, group, members)
    await close(layer)
    return figures


async def ghost_members(kind: str, layer: Any, group: str, steady: int) -> int:
    """What Redis still sends to for the group beyond the live process's members. Core
    layer: members in the group's sorted set, beyond the steady ones. Pub/sub layer:
    connections subscribed to the group's channel, beyond the live process's one."""
    if kind == "core":
        async with layer.connection(0) as connection:
            return int(await connection.zcard(layer._group_key(group))) - steady
    loop_layer = layer._get_layer()
    group_channel = loop_layer._get_group_channel_name(group)
    shard = loop_layer._get_shard(group_channel)
    # A connection closed a moment ago (a dead process's, or one redis-py replaced when a
    # churner was cancelled mid-command) may not have reached Redis yet: ghosts are what
    # is still subscribed once it settles, so wait up to 3 s for the count to fall.
    deadline = time.monotonic() + 3.0
    while True:
        [(_, subscribed)] = await shard._redis.pubsub_numsub(group_channel)
        if int(subscribed) <= 1 or time.monotonic() > deadline:
            return int(subscribed) - 1
        await asyncio.sleep(0.1)


async def outage(kind: str, server: Redis, members: int) -> Figures:
    layer, group = make_layer(kind, server.url), f"cmp-{uuid.uuid4().hex[:8]}"
    figures = Figures(kind)
    old = [Member(layer, group) for _ in range(members)]
    for member in old:
        await member.join()
    await asyncio.sleep(0.2)
    sending = asyncio.create_task(send_at(layer, group, 120, 20, figures))  # 6 s
    await asyncio.sleep(1.5)
    server.kill()
    await asyncio.sleep(2.0)
    server.start()
    back = time.monotonic()
    await sending
    await asyncio.sleep(1.0)
    for member in old:
        await member.stop()
    after = [t for m in old for t in m.received_at if t >= back]
    figures.after_restart = len(after)
    figures.resumed_after_s = round(min(after) - back, 3) if after else None
    figures.expected = figures.sent * members
    summarize(figures, old)
    await close(layer)
    return figures


PHASE_TIMEOUT = 20.0  # a phase takes 2-6 s; six of them must fit in pytest-timeout's 120 s


async def bounded(kind: str, name: str, phase: Coroutine[Any, Any, Figures]) -> Figures:
    """A phase takes seconds: a hang is named, rather than left to the suite's timeout."""
    try:
        return await asyncio.wait_for(phase, PHASE_TIMEOUT)
    except TimeoutError:
        stuck = f"the {kind} layer's {name} phase still runs after {PHASE_TIMEOUT:g} s"
        raise TimeoutError(stuck) from None


def table(title: str, rows: list[Figures], columns: list[str]) -> str:
    lines = [f"\n{title}", "  " + " | ".join(f"{c:>14}" for c in ["layer", *columns])]
    for row in rows:
        values = [row.layer]
        for column in columns:
            value = getattr(row, column)
            if column == "delivered_share":
                value = f"{value:.2%}"
            elif column == "send_errors":
                value = f"{len(value)} ({', '.join(sorted(set(value))) or '-'})"
            values.append("-" if value is None else str(value))
        lines.append("  " + " | ".join(f"{v:>14}" for v in values))
    return "\n".join(lines)


async def main(members: int, messages: int, churners: int) -> dict[str, list[dict[str, Any]]]:
    results: dict[str, list[Figures]] = {"latency": [], "churn": [], "outage": []}
    for kind in LAYERS:
        with redis() as server:
            url = server.url
            results["latency"].append(
                await bounded(kind, "latency", latency(kind, url, members, messages))
            )
            results["churn"].append(
                await bounded(kind, "churn", churn(kind, url, members, messages, churners))
            )
            results["outage"].append(await bounded(kind, "outage", outage(kind, server, members)))
    columns = {
        "latency": ["sent", "delivered_share", "p50_ms", "p99_ms", "max_ms"],
        "churn": ["sent", "delivered_share", "p99_ms", "ghosts"],
        "outage": ["sent", "send_errors", "delivered_share", "after_restart", "resumed_after_s"],
    }
    titles = {"latency": "Latency", "churn": "Churn", "outage": "Outage (Redis killed for 2 s)"}
    for name, rows in results.items():
        print(table(titles[name], rows, columns[name]))
    return {name: [asdict(f) | {"delivered_share": f.delivered_share} for f in rows]
            for name, rows in results.items()}  # fmt: skip


if __name__ == "__main__":
    # The pub/sub layer logs a traceback a second while Redis is down; the table says it.
    logging.getLogger("channels_redis").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--churners", type=int, default=40)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    started = time.monotonic()
    found = asyncio.run(main(args.members, args.messages, args.churners))
    print(f"\n{time.monotonic() - started:.0f} s in all; medians of nothing: one run each.")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(found, out, indent=2)
