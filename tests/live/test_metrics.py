"""``/metrics`` of a real Daphne, scraped with a real HTTP client while it serves viewers
and streams: the figures move as the dashboard shows them, the scrape never waits behind the
shared sync thread, and only the allowed clients and hosts get an answer."""

import asyncio
import re
import tempfile
import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from streams.client import Viewer, origin, run_producer, ws_base
from streams.close_codes import CLOSE_BAD_ROOM, CLOSE_DONE
from tests.asgi.wsclient import eventually
from tests.servers import KillableRedis, Server, fetch, served

pytestmark = pytest.mark.live

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """A Daphne as `make run` serves it: metrics on, for loopback clients."""
    with served() as running:
        yield running


async def scrape_text(url: str, host: str | None = None) -> httpx.Response:
    headers = {"Host": host} if host else {}
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.get(f"{url}/metrics", headers=headers)


async def scrape(url: str) -> Samples:
    """Every sample of one scrape, read by prometheus_client's own parser."""
    response = await scrape_text(url)
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def figure(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(after: Samples, before: Samples, name: str, **labels: str) -> float:
    return figure(after, name, **labels) - figure(before, name, **labels)


async def test_a_scrape_during_a_run_sees_the_figures_move(server, room):
    url = server.url
    before = await scrape(url)
    viewers = figure(before, "dashboard_viewers")

    async with Viewer(url, room) as watching, Viewer(url, room + "-2") as leaving:
        await watching.wait_for('id="sync-streams"')
        up = await eventually(
            lambda: scrape(url), lambda s: figure(s, "dashboard_viewers") == viewers + 2, 10
        )

        # A sync stream holds the shared thread for 3 s: scrapes still answer at once, and
        # see it running and the thread's wait grow.
        sync = asyncio.create_task(run_producer(url, room, "sync", count=15, interval=0.2))
        slowest = 0.0
        running = wait = 0.0
        while not sync.done():
            asked = time.monotonic()
            during = await scrape(url)
            slowest = max(slowest, time.monotonic() - asked)
            running = max(
                running, figure(during, "dashboard_streams", mode="sync", state="running")
            )
            wait = max(wait, figure(during, "dashboard_shared_thread_wait_seconds"))
            await asyncio.sleep(0.2)
        assert (await sync).outcome == "done"
        assert running == 1 and wait > 1.0
        assert slowest < 1.0, slowest
        assert (await run_producer(url, room, "async", count=10, interval=0.05)).outcome == "done"

        leaving.abort()  # a client gone without a closing handshake: 1006
    after = await eventually(
        lambda: scrape(url), lambda s: figure(s, "dashboard_viewers") == viewers, 10
    )

    for mode, ticks in (("sync", 15), ("async", 10)):
        labels = {"mode": mode, "work": "sleep"}
        assert delta(after, before, "dashboard_ticks_sent_total", **labels) == ticks
        assert delta(after, before, "dashboard_tick_lateness_seconds_count", **labels) == ticks
        assert delta(after, before, "dashboard_tick_lateness_seconds_sum", **labels) > 0
        buckets = sorted(
            (float(dict(labels_)["le"]), value)
            for (name, labels_), value in after.items()
            if name == "dashboard_tick_lateness_seconds_bucket" and labels.items() <= labels_
        )
        counts = [value for _, value in buckets]
        assert counts == sorted(counts) and counts[-1] == figure(
            after, "dashboard_tick_lateness_seconds_count", **labels
        )
        ended = {"mode": mode, "outcome": "finished"}
        assert delta(after, before, "dashboard_streams_ended_total", **ended) == 1
        assert figure(after, "dashboard_streams", mode=mode, state="running") == 0
    closes = "dashboard_websocket_closes_total"
    # The two producers (closed by the server, or by the client once it read the end: both
    # close at once) and the viewer watching, cleanly; the viewer leaving, dropped.
    done = [
        delta(after, before, closes, by=by, code=str(CLOSE_DONE)) for by in ("server", "client")
    ]
    assert sum(done) == 3 and done[1] >= 1, done
    assert delta(after, before, closes, by="client", code="1006") == 1
    frames = delta(after, before, "dashboard_viewer_frames_sent_total")
    characters = delta(after, before, "dashboard_viewer_characters_sent_total")
    assert frames >= 25 and characters > 100 * frames  # each tick's card, at least
    assert figure(up, "dashboard_event_loop_lag_seconds") < 1.0
    # Nothing of a room or a connection in any label.
    assert not [key for key in after if any(room in value for _, value in key[1])]


async def test_closes_are_counted_with_the_code_the_client_read(server):
    before = await scrape(server.url)
    page = origin(server.url)
    async with connect(f"{ws_base(server.url)}/ws/rooms/bad%20room/", origin=page) as ws:
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert ws.close_code == CLOSE_BAD_ROOM
    after = await scrape(server.url)
    closes = "dashboard_websocket_closes_total"
    assert delta(after, before, closes, by="server", code=str(CLOSE_BAD_ROOM)) == 1


async def test_every_dashboard_figure_has_its_help_line(server):
    text = (await scrape_text(server.url)).text
    typed = re.findall(r"^# TYPE (\w+) ", text, re.M)
    explained = re.findall(r"^# HELP (\w+) .{20,}$", text, re.M)
    ours = [name for name in typed if name.startswith("dashboard_")]
    assert len(ours) == 12 and set(ours) <= set(explained)
    samples = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1] != "#"}
    assert all(name.startswith(("dashboard_", "process_", "python_")) for name in samples)


async def test_a_host_not_allowed_gets_a_400_and_no_figures(server):
    response = await scrape_text(server.url, host="metrics.evil.example")
    assert response.status_code == 400 and "dashboard_" not in response.text
    # Logged in one line, not a traceback (served() checks the log at the end).


@pytest.mark.parametrize(
    ("env", "status", "says"),
    [
        ({"DASHBOARD_METRICS": "false"}, 404, "DASHBOARD_METRICS"),
        ({"DASHBOARD_METRICS_CLIENTS": "10.0.0.0/8"}, 403, "DASHBOARD_METRICS_CLIENTS"),
    ],
)
async def test_metrics_off_or_from_a_client_not_listed(env, status, says):
    with served(env=env) as off:
        response = await scrape_text(off.url)
        assert response.status_code == status and says in response.text
        assert "dashboard_" not in response.text.replace(says, "")
        assert (await asyncio.to_thread(fetch, f"{off.url}/"))[0] == 200  # the page is not


async def test_a_redis_outage_is_counted_and_the_scrape_still_answers(room):
    with tempfile.TemporaryDirectory() as workdir:
        redis = KillableRedis(workdir)
        redis.start()
        try:
            with served(redis.url) as server:
                await outage_and_back(server, redis)
        finally:
            if redis.proc is not None and redis.proc.poll() is None:
                redis.kill()


async def outage_and_back(server: Server, redis: KillableRedis) -> None:
    # No one is connected: the first scrape starts the gauges' sampler, the layer's check.
    first = await scrape(server.url)
    assert figure(first, "dashboard_channel_layer_up") == 1
    assert figure(first, "dashboard_redis_outages_total") == 0
    redis.kill()
    down = await eventually(
        lambda: scrape(server.url), lambda s: figure(s, "dashboard_channel_layer_up") == 0, 15
    )
    assert figure(down, "dashboard_redis_outages_total") == 1
    redis.start()
    back = await eventually(
        lambda: scrape(server.url), lambda s: figure(s, "dashboard_channel_layer_up") == 1, 15
    )
    assert figure(back, "dashboard_redis_outages_total") == 1  # one outage, however long
