"""Concurrency: K streams at once, sync and async, under each thread model.

Each stream is 10 ticks x 0.1 s, asked for at once as the page does (one ``start``, then one
producer connection each). Every stream's wait (asked to started) and finish (asked to
ended) is on the client's clock. Under Channels' default all sync consumers of a process
share one thread, so sync streams run one after another: the waits climb by a stream's
length each. Then one scenario: what a new viewer and a new async producer meet while a
sync loop holds that thread. Last, each work a consumer really does (streams/workloads.py),
two streams at once beside a bystander async stream: what it did to the others.
"""

import asyncio
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from bench import stats
from streams.client import ProducerRun, Viewer, run_producer, run_streams
from tests.cards import card_body
from tests.servers import daphne

COUNT, INTERVAL = 10, 0.1
MODES = ("sync", "async")
THREAD_MODELS = ("shared", "per_connection")


@dataclass
class Batch:
    mode: str
    thread_model: str
    streams: int
    waits: list[float]  # per stream, sorted
    finishes: list[float]  # per stream, sorted
    ticks: int  # delivered to the producers, all streams


@dataclass
class WorkBatch:
    """Two streams of one work at once (the most a room runs that freeze the event loop),
    beside a bystander: an async sleep stream."""

    mode: str
    work: str
    cost: int  # ms per tick
    waits: list[float]  # per stream, sorted
    finishes: list[float]
    bystander_lateness: stats.Lateness | None  # the async stream beside them, sent late
    loop_lag_max: float  # the worst event-loop lag the gauges showed meanwhile
    thread_wait_max: float  # the longest shared-thread wait they showed


@dataclass
class WhileSyncLoops:
    viewer_connect: float  # a new viewer's handshake and snapshot
    running_async_lateness: stats.Lateness | None  # an async stream already running
    new_async_wait: float  # a new default async producer, asked to started
    sync_loop_left: float  # from that ask to the sync loop's end


def _waits_and_finishes(runs: Sequence[ProducerRun]) -> tuple[list[float], list[float]]:
    """Each run's wait (asked to started) and finish (asked to ended), sorted."""
    waits = sorted(r.started_at - r.requested_at for r in runs if r.started_at)
    return waits, sorted(r.ended_at - r.requested_at for r in runs if r.ended_at)


def room() -> str:
    return f"bench-{uuid.uuid4().hex[:8]}"


async def batch(url: str, mode: str, thread_model: str, streams: int) -> Batch:
    name = room()
    if thread_model != "shared":
        async with Viewer(url, name) as viewer:
            await viewer.set_thread_model(thread_model)
    runs = await run_streams(url, name, mode, COUNT, INTERVAL, streams)
    return Batch(
        mode,
        thread_model,
        streams,
        *_waits_and_finishes(runs),
        ticks=sum(len(r.ticks) for r in runs),
    )


# What a consumer really does each tick (streams/workloads.py), 2 at once, 10 ticks of 0.2 s.
WORKLOADS = (
    ("sync", "sleep", 0), ("sync", "query", 0), ("sync", "http", 100), ("sync", "cpu", 100),
    ("async", "sleep", 0), ("async", "query", 0), ("async", "http", 100), ("async", "cpu", 100),
    ("async", "blocking", 100), ("async", "offload", 100),
)  # fmt: skip
LAG = re.compile(r"event loop lag <b>([\d.]+) ms</b>")
WAIT = re.compile(r"shared sync thread wait <b>([\d.]+) ms</b>")


async def work_batch(url: str, mode: str, work: str, cost: int) -> WorkBatch:
    name = room()
    async with Viewer(url, name) as watcher:
        [bystander] = await watcher.start("async", count=60, interval=0.05, streams=1)
        beside = asyncio.create_task(run_producer(url, name, "async", bystander))
        await watcher.wait_for(card_body(bystander))
        frames: list[str] = []

        async def gauges() -> None:
            while True:
                frames.append((await watcher.next_frame(60))[1])

        watching = asyncio.create_task(gauges())
        runs = await run_streams(url, name, mode, 10, 0.2, 2, work=work, cost=cost)
        await asyncio.sleep(1.2)  # the gauges of the last second
        watching.cancel()
        bystander_run = await beside
    seen = "".join(frames)
    return WorkBatch(
        mode,
        work,
        cost,
        *_waits_and_finishes(runs),
        bystander_lateness=stats.lateness(late for _, late, _ in bystander_run.ticks),
        loop_lag_max=max((float(v) / 1000 for v in LAG.findall(seen)), default=0.0),
        thread_wait_max=max((float(v) / 1000 for v in WAIT.findall(seen)), default=0.0),
    )


async def while_sync_loops(url: str, seconds: float = 3.0) -> WhileSyncLoops:
    name = room()
    async with Viewer(url, name) as starter:
        [ticking] = await starter.start("async", count=60, interval=0.05, streams=1)
        async_run = asyncio.create_task(run_producer(url, name, "async", ticking))
        await starter.wait_for(card_body(ticking))
        [blocker] = await starter.start(
            "sync", count=round(seconds / INTERVAL), interval=INTERVAL, streams=1
        )
        sync_run = asyncio.create_task(run_producer(url, name, "sync", blocker))
        await starter.wait_for(card_body(blocker))

        asked = time.monotonic()
        async with Viewer(url, name) as late:
            await late.next_frame(10)  # its snapshot
            connected = time.monotonic() - asked
        [newcomer] = await starter.start("async", count=1, interval=0.01, streams=1)
        new_async = await run_producer(url, name, "async", newcomer)
        sync_result, ticking_result = await asyncio.gather(sync_run, async_run)
    return WhileSyncLoops(
        viewer_connect=connected,
        running_async_lateness=stats.lateness(late for _, late, _ in ticking_result.ticks),
        new_async_wait=new_async.waited or 0.0,
        sync_loop_left=(sync_result.ended_at or 0.0) - asked,
    )


Workload = tuple[str, str, int]  # mode, work, cost in ms


async def measure(
    url: str, ks: Sequence[int], workloads: Sequence[Workload]
) -> tuple[list[Batch], WhileSyncLoops, list[WorkBatch]]:
    batches = [
        await batch(url, mode, model, k) for mode in MODES for model in THREAD_MODELS for k in ks
    ]
    scenario = await while_sync_loops(url)
    works = [await work_batch(url, *w) for w in workloads]
    return batches, scenario, works


def run(
    ks: Sequence[int], workloads: Sequence[Workload] = WORKLOADS
) -> tuple[list[Batch], WhileSyncLoops, list[WorkBatch]]:
    """On daphne with the project's defaults (one process, in-memory layer)."""
    with daphne() as url:
        return asyncio.run(measure(url, ks, workloads))
