"""``/metrics`` through Django's test client, and what the application counts for it, through
Channels' communicator: who may scrape, and every figure moving where its event happens.

The registry is the process's, shared by every test here: each test reads differences."""

import asyncio
from dataclasses import dataclass

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.testing import WebsocketCommunicator
from prometheus_client.parser import text_string_to_metric_families

from dashboard_project.asgi import application
from dashboard_project.environment import networks
from streams.close_codes import CLOSE_BAD_ROOM, CLOSE_DONE, CLOSE_FOREIGN_ORIGIN
from streams.gauges import SAMPLER
from streams.metrics import REGISTRY
from tests.asgi.wsclient import (
    cards,
    communicator,
    eventually,
    open_producer,
    open_viewer,
    receive_until,
    run_to_end,
    running_stream,
    start,
)

MEMORY = pytest.mark.parametrize("layer", ["memory"], indirect=True)


@pytest.fixture(autouse=True)
def sampler_as_it_was():
    """A scrape keeps the gauges' sampler running for good; the tests after these do not
    expect it to."""
    yield
    SAMPLER.scraped = False


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@dataclass
class Response:
    status_code: int
    headers: dict[str, str]
    content: bytes


async def scrape(
    address: str | None = "127.0.0.1", host: str = "127.0.0.1:8000", method: str = "GET"
) -> Response:
    """``/metrics`` asked of the whole ASGI application, as a server hands it a request from
    ``address`` (None: no address, as on a Unix socket) with this Host."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": "/metrics",
        "raw_path": b"/metrics",
        "query_string": b"",
        "headers": [(b"host", host.encode())],
        "client": [address, 50000] if address else None,
        "server": ["127.0.0.1", 8000],
    }
    app = ApplicationCommunicator(application, scope)
    await app.send_input({"type": "http.request", "body": b""})
    start = await app.receive_output(timeout=10)
    body = b""
    while True:
        part = await app.receive_output(timeout=10)
        body += part.get("body", b"")
        if not part.get("more_body"):
            break
    await app.wait(timeout=10)
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return Response(start["status"], headers, body)


async def test_metrics_are_prometheus_text_with_help_for_every_figure():
    response = await scrape()
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = response.content.decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    ours = [f for name, f in families.items() if name.startswith("dashboard_")]
    assert {f.name for f in ours} >= {
        "dashboard_event_loop_lag_seconds",
        "dashboard_shared_thread_wait_seconds",
        "dashboard_viewers",
        "dashboard_streams",
        "dashboard_streams_ended",
        "dashboard_ticks_sent",
        "dashboard_tick_lateness_seconds",
        "dashboard_viewer_frames_sent",
        "dashboard_viewer_characters_sent",
        "dashboard_websocket_closes",
        "dashboard_redis_outages",
        "dashboard_channel_layer_up",
    }
    for family in ours:
        assert f"# HELP {family.name}" in text and family.documentation
    assert "process_resident_memory_bytes" in families  # the standard ones beside


async def test_metrics_off_is_a_404(settings):
    settings.DASHBOARD_METRICS = False
    response = await scrape()
    assert response.status_code == 404
    assert b"DASHBOARD_METRICS" in response.content and b"dashboard_" not in response.content


@pytest.mark.parametrize(
    ("address", "status"),
    [
        ("127.0.0.1", 200),
        ("127.0.0.53", 200),
        ("::1", 200),
        ("::ffff:127.0.0.1", 200),  # an IPv4 client of a server listening on IPv6
        ("10.1.2.3", 403),
        ("192.168.0.9", 403),
        ("2001:db8::1", 403),
        (None, 403),  # no address: a Unix socket
        ("not-an-address", 403),
    ],
)
async def test_metrics_answer_the_allowed_clients_only(address, status):
    response = await scrape(address)
    assert response.status_code == status
    if status == 403:
        assert b"DASHBOARD_METRICS_CLIENTS" in response.content
        assert b"dashboard_" not in response.content


async def test_metrics_clients_may_be_widened(settings):
    settings.DASHBOARD_METRICS_CLIENTS = networks("127.0.0.1, 10.0.0.0/8")
    assert (await scrape("10.1.2.3")).status_code == 200
    assert (await scrape("11.1.2.3")).status_code == 403


async def test_metrics_answer_the_allowed_hosts_only():
    assert (await scrape(host="localhost:8000")).status_code == 200
    response = await scrape(host="evil.example")
    assert response.status_code == 400 and b"dashboard_" not in response.content


async def test_metrics_refuse_other_methods():
    assert (await scrape(method="POST")).status_code == 405
    assert (await scrape(method="HEAD")).status_code == 405


def test_metrics_with_a_slash_is_the_reserved_room_not_the_metrics(client):
    response = client.get("/metrics/")
    assert response.status_code == 404 and b"dashboard_" not in response.content


@MEMORY
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("layer", "connections_closed")
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_run_counts_its_ticks_lateness_stream_and_closes(room, mode):
    labels = {"mode": mode, "work": "sleep"}
    ticks = value("dashboard_ticks_sent_total", **labels)
    observed = value("dashboard_tick_lateness_seconds_count", **labels)
    finished = value("dashboard_streams_ended_total", mode=mode, outcome="finished")
    done_closes = value("dashboard_websocket_closes_total", by="server", code=str(CLOSE_DONE))
    frames = value("dashboard_viewer_frames_sent_total")

    viewer, _ = await open_viewer(room)
    [number] = await start(viewer, mode, count=3, interval=0.05)
    producer = await open_producer(room, mode, number)
    await run_to_end(producer)
    await receive_until(viewer, lambda fs: any(c == (number, "done", 3) for c in cards(fs)))

    assert value("dashboard_ticks_sent_total", **labels) == ticks + 3
    assert value("dashboard_tick_lateness_seconds_count", **labels) == observed + 3
    inf = value("dashboard_tick_lateness_seconds_bucket", **labels, le="+Inf")
    assert inf == observed + 3
    assert value("dashboard_streams_ended_total", mode=mode, outcome="finished") == finished + 1
    assert value("dashboard_streams", mode=mode, state="running") == 0
    closes = value("dashboard_websocket_closes_total", by="server", code=str(CLOSE_DONE))
    assert closes == done_closes + 1
    assert value("dashboard_viewer_frames_sent_total") > frames
    await viewer.disconnect()
    await producer.disconnect()


@MEMORY
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("layer", "connections_closed")
async def test_a_sync_stream_whose_client_left_counts_as_orphaned(room):
    running = value("dashboard_streams", mode="sync", state="running")
    orphaned = value("dashboard_streams", mode="sync", state="orphaned")
    ended = value("dashboard_streams_ended_total", mode="sync", outcome="orphaned")
    viewer, _ = await open_viewer(room)
    number, producer = await running_stream(viewer, room, "sync", count=300, interval=0.02)
    assert value("dashboard_streams", mode="sync", state="running") == running + 1

    leaving = asyncio.create_task(producer.disconnect(timeout=0.1))  # as Daphne cancels it
    await receive_until(viewer, lambda fs: any(c[:2] == (number, "orphaned") for c in cards(fs)))
    assert value("dashboard_streams", mode="sync", state="running") == running
    assert value("dashboard_streams", mode="sync", state="orphaned") == orphaned + 1

    await viewer.send_json_to({"action": "stop", "stream": number})
    await receive_until(viewer, lambda fs: any(c[:2] == (number, "stopped") for c in cards(fs)))
    await eventually(
        lambda: asyncio.sleep(0, value("dashboard_streams", mode="sync", state="orphaned")),
        lambda now: now == orphaned,
    )
    assert value("dashboard_streams_ended_total", mode="sync", outcome="orphaned") == ended + 1
    await leaving
    await viewer.disconnect()


@MEMORY
@pytest.mark.usefixtures("layer", "connections_closed")
async def test_viewers_are_counted_up_and_down(room):
    before = value("dashboard_viewers")
    viewer, _ = await open_viewer(room)
    other, _ = await open_viewer(room + "x")
    assert value("dashboard_viewers") == before + 2
    await viewer.disconnect()
    await other.disconnect()
    assert value("dashboard_viewers") == before


@MEMORY
@pytest.mark.usefixtures("layer", "connections_closed")
async def test_closes_are_counted_by_who_closed_and_code(room):
    def closes(by: str, code: int | str) -> float:
        return value("dashboard_websocket_closes_total", by=by, code=str(code))

    bad_room = closes("server", CLOSE_BAD_ROOM)
    foreign = closes("server", CLOSE_FOREIGN_ORIGIN)
    client = closes("client", 1000)

    refused = communicator("/ws/rooms/bad%20room/")
    await refused.connect(timeout=10)
    assert (await refused.receive_output(timeout=5))["code"] == CLOSE_BAD_ROOM
    await refused.disconnect()
    page = [(b"origin", b"http://elsewhere.example"), (b"host", b"127.0.0.1")]
    elsewhere = WebsocketCommunicator(application, f"/ws/rooms/{room}/", headers=page)
    await elsewhere.connect(timeout=10)
    while (message := await elsewhere.receive_output(timeout=5))["type"] != "websocket.close":
        pass
    assert message["code"] == CLOSE_FOREIGN_ORIGIN
    await elsewhere.disconnect()
    viewer, _ = await open_viewer(room)
    await viewer.disconnect(code=1000)

    assert closes("server", CLOSE_BAD_ROOM) == bad_room + 1  # its disconnect not again
    assert closes("server", CLOSE_FOREIGN_ORIGIN) == foreign + 1
    assert closes("client", 1000) == client + 1
