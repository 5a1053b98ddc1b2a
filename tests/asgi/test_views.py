import html
import json
import re
import time
import uuid

import pytest

from streams import live
from streams.choices import Mode, ThreadModel
from streams.models import StreamRun
from streams.stream import Stream
from streams.templatetags.htmx_ws import HTMX4_CONFIG
from tests.cards import card_body
from tests.factories import ticked

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": uuid.uuid4().hex,
        }
    }


def test_dashboard_lobby(client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'ws-connect="/ws/rooms/lobby/"' in page
    assert 'hx-swap="none"' in page
    for form in ("start-sync", "start-async", "chat-form", "thread-model", "room-controls"):
        assert f'id="{form}"' in page


@pytest.mark.parametrize("htmx", [2, 4])
def test_dashboard_loads_htmx_from_django_htmx_static_only(client, settings, htmx):
    settings.DASHBOARD_HTMX = htmx
    page = client.get("/").content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert scripts == [
        f"/static/django_htmx/htmx-{htmx}.min.js",
        f"/static/django_htmx/ext/hx-ws-{htmx}.min.js",
        "/static/js/dashboard.js",  # after them: it sets htmx.config
    ]
    assert "://" not in page.split("<body")[0]  # nothing from another host
    # htmx 4 reads its configuration as it loads, before dashboard.js runs.
    config = re.findall(r'<meta name="htmx-config" content="([^"]+)">\s*<script', page)
    assert [json.loads(html.unescape(c)) for c in config] == {2: [], 4: [HTMX4_CONFIG]}[htmx]


@pytest.mark.parametrize(
    ("htmx", "connect", "send", "other"),
    [(2, "ws-connect", "ws-send", "hx-ws:"), (4, "hx-ws:connect", "hx-ws:send", " ws-")],
)
def test_dashboard_speaks_the_ws_attributes_of_its_htmx_only(
    client, settings, htmx, connect, send, other
):
    settings.DASHBOARD_HTMX = htmx
    page = client.get("/").content.decode()
    assert f'{connect}="/ws/rooms/lobby/"' in page
    for form in ("start-sync", "start-async", "chat-form", "thread-model", "room-controls"):
        assert re.search(rf'<form id="{form}"[^>]* {re.escape(send)}[ >]', page), form
    assert other not in page
    assert "hx-on" not in page  # the page's handlers are static/js/dashboard.js, for both


def test_dashboard_defaults(client):
    page = client.get("/lobby/").content.decode()
    assert page.count('name="count" type="number" value="50"') == 2
    assert page.count('name="interval" type="number" value="1"') == 2
    assert page.count('name="streams" type="number" value="1"') == 2
    assert 'value="shared" checked' in page


def test_dashboard_other_room(client):
    response = client.get("/team-a.demo/")
    assert response.status_code == 200
    assert 'ws-connect="/ws/rooms/team-a.demo/"' in response.content.decode()


@pytest.mark.parametrize("path", ["/bad%20room/", "/" + "x" * 65 + "/", "/caf%C3%A9/"])
def test_dashboard_invalid_room_is_a_friendly_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    page = response.content.decode()
    assert "There is no room called" in page and 'href="/"' in page
    assert "ws-connect" not in page


def test_unknown_path_is_a_friendly_404(client):
    response = client.get("/a/b/c/")
    assert response.status_code == 404
    assert "Go to the lobby" in response.content.decode()


def test_dashboard_refuses_post(client):
    assert client.post("/").status_code == 405


def test_dashboard_shows_current_counters_not_zeros(client):
    [number] = live.next_numbers("mid", 1)
    stream = Stream(
        room="mid", number=number, mode=Mode.ASYNC, count=50, interval=1.0, created_at=time.time()
    ).started(time.time(), ThreadModel.SHARED)
    for seq in range(1, 8):
        stream = ticked(stream, seq, 0.002)
    live.save(stream)

    page = client.get("/mid/").content.decode()
    column = page.split('id="async-streams"')[1].split("</section>")[0]
    assert card_body(number) + ' data-seq="7"' in column
    assert '<progress max="50" value="7">' in column


def test_dashboard_lists_finished_runs(client):
    stream = Stream(
        room="hist", number=2, mode=Mode.SYNC, count=3, interval=0.5, created_at=100.0
    ).started(101.0, ThreadModel.PER_CONNECTION)
    for seq in (1, 2, 3):
        stream = ticked(stream, seq, 0.004)
    StreamRun.from_stream(stream.ended(stream.state.DONE, 102.5), [0.004] * 3).save()

    page = client.get("/hist/").content.decode()
    rows = page.split('id="history-rows"')[1].split("</tbody>")[0]
    assert "#2" in rows and "own thread" in rows and "3 / 3" in rows and "1.00 s" in rows
    assert "4.0 ms" in rows


def test_dashboard_while_redis_is_gone_loads_and_says_so(client, monkeypatch):
    """The cache (Redis) does not answer: a 503 page with the banner and the history, which
    fills in by itself once the layer is back, instead of a 500."""
    stream = Stream(
        room="lobby", number=4, mode=Mode.ASYNC, count=1, interval=0.5, created_at=100.0
    ).started(101.0, ThreadModel.SHARED)
    stream = ticked(stream, 1, 0.002)
    StreamRun.from_stream(stream.ended(stream.state.DONE, 101.6), [0.002]).save()

    def refused(room):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(live, "streams", refused)
    response = client.get("/")
    page = response.content.decode()
    assert response.status_code == 503
    assert "Channel layer unavailable" in page
    assert 'ws-connect="/ws/rooms/lobby/"' in page  # it still connects, and retries
    rows = page.split('id="history-rows"')[1].split("</tbody>")[0]
    assert "#4" in rows  # the history is in the database, not in Redis
    assert "<b>–</b> viewers" in page


async def test_the_slow_endpoint_waits_as_long_as_asked_and_refuses_the_rest(async_client):
    began = time.monotonic()
    response = await async_client.get("/api/slow/?ms=120")
    assert response.status_code == 200 and response.json() == {"slept_ms": 120}
    assert time.monotonic() - began >= 0.12
    for bad in ("", "x", "-1", "5001", "1e3"):
        refused = await async_client.get(f"/api/slow/?ms={bad}")
        assert refused.status_code == 400 and "ms must be a whole number" in refused.json()["error"]


def test_the_explanation_page_has_a_section_for_every_reading(client):
    page = client.get("/explain/").content.decode()
    for anchor in ("shared-thread", "aclose", "async-orm", "event-loop", "offload",
                   "thread-per-connection", "http"):  # fmt: skip
        assert f'id="{anchor}"' in page
