"""What each tick's work does to the others, through a real Daphne: the orderings the
dashboard's reading names, asserted with generous bounds, never exact timings."""

import asyncio
import re
import sqlite3
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import connect

from streams.client import Viewer, overlap, run_producer, run_streams, ws_base
from tests.cards import card_body, cards
from tests.servers import Server, served

pytestmark = pytest.mark.live

LAG = re.compile(r"event loop lag <b>([\d.]+) ms</b>")


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with served() as running:
        yield running


def recorded(server: Server, room: str) -> dict[int, dict[str, object]]:
    """The room's runs as the history has them, by stream number."""
    with sqlite3.connect(server.env["DJANGO_DB_PATH"]) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("select * from streams_streamrun where room = ?", (room,)).fetchall()
    return {row["number"]: dict(row) for row in rows}


async def eventually_recorded(server: Server, room: str, how_many: int) -> dict:
    async with asyncio.timeout(20):
        while len(runs := recorded(server, room)) < how_many:  # noqa: ASYNC110 - a file
            await asyncio.sleep(0.2)
    return runs


@pytest.mark.parametrize("model", ["shared", "per_connection"])
async def test_async_orm_queues_behind_a_sync_loop_unless_each_has_its_thread(server, room, model):
    """acount() is sync_to_async(thread_sensitive=True): on the shared thread, a sync loop
    holds it up; with a thread per connection it runs on its own connection's thread."""
    async with Viewer(server.url, room) as viewer:
        await viewer.set_thread_model(model)
        [query] = await viewer.start("async", count=25, interval=0.2, streams=1, work="query")
        querying = asyncio.create_task(run_producer(server.url, room, "async", query))
        await viewer.wait_for(card_body(query) + ' data-seq="2"')
        [loop] = await viewer.start("sync", count=10, interval=0.2, streams=1)
        await run_producer(server.url, room, "sync", loop)
        await querying
    runs = await eventually_recorded(server, room, 2)
    took = runs[query]["work_max"]
    if model == "shared":
        assert took >= 0.5, runs[query]  # a loop of 2 s held the thread under it
    else:
        assert took < 0.3, runs[query]


@pytest.mark.parametrize(
    ("work", "freezes"), [("cpu", True), ("blocking", True), ("offload", False)]
)
async def test_work_in_async_code_freezes_the_loop_unless_it_is_offloaded(
    server, room, work, freezes
):
    cost = 150
    async with Viewer(server.url, room) as viewer:
        [number] = await viewer.start(
            "async", count=8, interval=0.3, streams=1, work=work, cost=cost
        )
        await run_producer(server.url, room, "async", number)
        lags = []
        async with asyncio.timeout(5):  # the gauges this page was shown meanwhile, and after
            while len(lags) < 3:
                lags += [float(m) for m in LAG.findall(await viewer.wait_for('id="gauges"'))]
    run = (await eventually_recorded(server, room, 1))[number]
    if freezes:
        assert run["loop_lag_max"] >= cost / 1000 * 0.8, run
    else:
        assert run["loop_lag_max"] < 0.05, run


async def test_async_http_streams_wait_on_their_gets_together(server, room):
    runs = await run_streams(
        server.url, room, "async", count=4, interval=0.5, streams=3, work="http", cost=300
    )
    assert all(r.outcome == "done" and len(r.ticks) == 4 for r in runs)
    assert overlap(runs) >= 1.0  # three streams of 2 s, side by side
    recorded_runs = await eventually_recorded(server, room, 3)
    assert all(0.3 <= run["work_p50"] < 1.0 for run in recorded_runs.values())


async def test_sync_http_under_the_default_runs_one_stream_after_another(server, room):
    runs = await run_streams(
        server.url, room, "sync", count=3, interval=0.4, streams=2, work="http", cost=200
    )
    runs.sort(key=lambda r: r.started_at or 0)
    assert runs[1].started_at >= runs[0].ended_at - 0.05  # the blocking GETs held the thread


@pytest.mark.parametrize(("path", "mode"), [("/ws/sc/", "sync"), ("/ws/ac/", "async")])
async def test_the_notes_endpoints_answer_a_plain_client_with_counts_a_second_apart(
    server, room, path, mode
):
    """As websocat sends it: no Origin. The first three of the notes' 50 counts, then the
    client leaves; the stream shows in the room's column meanwhile, and is stopped there."""
    async with Viewer(server.url, room) as viewer:
        async with connect(f"{ws_base(server.url)}{path}{room}/") as plain:
            await plain.send("anything")
            counts, times = [], []
            for _ in range(3):
                counts.append(await asyncio.wait_for(plain.recv(), 5))
                times.append(asyncio.get_running_loop().time())
            shown = await viewer.wait_for("from a plain WebSocket client", timeout=10)
        # Its client is gone; a sync loop goes on regardless: stop it, as anyone may.
        [(number, _, _)] = cards(shown)
        await viewer.send({"action": "stop", "stream": number})
        await viewer.wait_for(card_body(number, "stopped"), timeout=10)
        assert counts == ["0", "1", "2"]
        assert all(0.7 < b - a < 1.5 for a, b in zip(times, times[1:], strict=False))
