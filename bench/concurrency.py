"""Concurrency: K streams at once, sync and async, under each thread model.

Each stream is 10 ticks x 0.1 s, asked for at once as the page does (one ``start``, then one
producer connection each). Every stream's wait (asked to started) and finish (asked to
ended) is on the client's clock. Under Channels' default all sync consumers of a process
share one thread, so sync streams run one after another: the waits climb by a stream's
length each. Then one scenario: what a new viewer and a new async producer meet while a
sync loop holds that thread.
"""

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from bench import stats
from streams.client import Viewer, run_producer, run_streams
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
class WhileSyncLoops:
    viewer_connect: float  # a new viewer's handshake and snapshot
    running_async_lateness: stats.Lateness | None  # an async stream already running
    new_async_wait: float  # a new default async producer, asked to started
    sync_loop_left: float  # from that ask to the sync loop's end


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
        waits=sorted(r.started_at - r.requested_at for r in runs if r.started_at),
        finishes=sorted(r.ended_at - r.requested_at for r in runs if r.ended_at),
        ticks=sum(len(r.ticks) for r in runs),
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


async def measure(url: str, ks: Sequence[int]) -> tuple[list[Batch], WhileSyncLoops]:
    batches = [
        await batch(url, mode, model, k) for mode in MODES for model in THREAD_MODELS for k in ks
    ]
    return batches, await while_sync_loops(url)


def run(ks: Sequence[int]) -> tuple[list[Batch], WhileSyncLoops]:
    """On daphne with the project's defaults (one process, in-memory layer)."""
    with daphne() as url:
        return asyncio.run(measure(url, ks))
