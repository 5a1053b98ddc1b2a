"""The shared-thread benchmark: figures and ratios, printed, never asserted.

    make bench            # or: python -m tests.benchmark --streams 3 --count 5 --interval 0.2

Serves the project with daphne (its defaults: one process, in-memory layer) and measures,
on this client's clock, how N sync streams, N async streams and N sync streams with a thread
per connection run side by side, and what a viewer and a new async producer see while a
sync loop holds the shared thread.
"""

import argparse
import asyncio
import time
import uuid

from streams.client import ProducerRun, Viewer, overlap, run_producer, run_streams, running
from streams.schedule import summarize
from streams.templatetags.durations import ms
from tests.server import daphne


def room() -> str:
    return f"bench-{uuid.uuid4().hex[:8]}"


def lateness_line(values: list[float]) -> str:
    late = summarize(values)
    assert late is not None, "no ticks"
    return f"{ms(late.p50)} / {ms(late.p95)} / {ms(late.max)}"


def describe(title: str, runs: list[ProducerRun]) -> float:
    starts = [r.started_at or 0.0 for r in runs]
    ends = [r.ended_at or 0.0 for r in runs]
    span = max(ends) - min(starts)
    lateness = [late for r in runs for _, late, _ in r.ticks]
    waits = sorted(r.waited or 0.0 for r in runs)
    print(f"\n{title}")
    print(f"  span, first start to last end: {span:.2f} s")
    print(f"  all running at once for:       {overlap(runs):.2f} s")
    print(f"  waited before starting:        {', '.join(f'{w:.2f} s' for w in waits)}")
    print(f"  handshake attempts:            {sum(r.attempts for r in runs)}")
    print(f"  ticks sent late, p50/p95/max:  {lateness_line(lateness)}")
    return span


async def while_sync_loops(url: str, interval: float) -> None:
    """A viewer and a default async producer arriving while a sync loop runs."""
    name = room()
    async with Viewer(url, name) as starter:
        [ticking] = await starter.start("async", count=60, interval=0.05, streams=1)
        async_run = asyncio.create_task(run_producer(url, name, "async", ticking))
        await starter.wait_for(running(ticking))
        [blocker] = await starter.start(
            "sync", count=round(3 / interval), interval=interval, streams=1
        )
        sync_run = asyncio.create_task(run_producer(url, name, "sync", blocker))
        await starter.wait_for(running(blocker))

        asked = time.monotonic()
        async with Viewer(url, name):
            connected = time.monotonic() - asked
        [newcomer] = await starter.start("async", count=1, interval=0.01, streams=1)
        new_async = await run_producer(url, name, "async", newcomer)
        sync_result, ticking_result = await asyncio.gather(sync_run, async_run)

    lateness = [late for _, late, _ in ticking_result.ticks]
    print("\nWhile a sync stream loops for ~3 s (default thread model)")
    print(f"  a new viewer connected in:            {ms(connected)}")
    print(f"  a running async stream, late p50/p95/max: {lateness_line(lateness)}")
    print(
        f"  a new async producer waited:          {new_async.waited or 0:.2f} s "
        f"(the sync loop ended {(sync_result.ended_at or 0) - asked:.2f} s after it asked)"
    )


async def main(streams: int, count: int, interval: float) -> None:
    with daphne() as url:
        print(
            f"{streams} streams x {count} ticks x {interval} s, one daphne process, "
            "in-memory channel layer"
        )
        shared = describe(
            "Sync, Channels default (one shared thread)",
            await run_streams(url, room(), "sync", count, interval, streams),
        )
        async_span = describe(
            "Async, Channels default",
            await run_streams(url, room(), "async", count, interval, streams),
        )
        per_connection_room = room()
        async with Viewer(url, per_connection_room) as viewer:
            await viewer.set_thread_model("per_connection")
        own = describe(
            "Sync, a thread per connection",
            await run_streams(url, per_connection_room, "sync", count, interval, streams),
        )
        print("\nRatios")
        print(f"  sync shared / sync per connection: {shared / own:.2f}x")
        print(f"  sync shared / async:               {shared / async_span:.2f}x")
        await while_sync_loops(url, interval)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=3)
    parser.add_argument("--count", type=int, default=5)
    parser.add_argument("--interval", type=float, default=0.2)
    args = parser.parse_args()
    asyncio.run(main(args.streams, args.count, args.interval))
