"""Only the dashboard's own pages (or listed origins) get a WebSocket; others are told why."""

import pytest
from channels.testing import WebsocketCommunicator

from dashboard_project.asgi import application
from streams.close_codes import CLOSE_FOREIGN_ORIGIN
from streams.origins import origin_allowed

HOSTS = ["127.0.0.1", "localhost", ".example.org"]


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000"),
        ("http://localhost:8000", "localhost:8000"),
        ("https://dash.example.org", "dash.example.org"),  # TLS ended by a proxy: no port
        ("https://dash.example.org:443", "dash.example.org"),
        ("http://DASH.example.org", "dash.example.org"),
    ],
)
def test_same_host_origins_are_allowed(origin, host):
    assert origin_allowed(origin, host, HOSTS)


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        (None, "127.0.0.1:8000"),  # missing
        ("", "127.0.0.1:8000"),
        ("null", "127.0.0.1:8000"),  # sandboxed iframes, file:// pages
        ("http://evil.test", "127.0.0.1:8000"),  # foreign
        ("http://127.0.0.1:9999", "127.0.0.1:8000"),  # another app on the same machine
        ("http://evil.test", "evil.test"),  # same host, but not an allowed host
        ("http://127.0.0.1:8000", None),  # no Host header
        ("ftp://127.0.0.1", "127.0.0.1"),
        ("http://127.0.0.1:99999", "127.0.0.1"),  # not a port
        ("http://127.0.0.1/page", "127.0.0.1"),  # not an origin
        ("http://", "127.0.0.1"),
    ],
)
def test_other_origins_are_refused(origin, host):
    assert not origin_allowed(origin, host, HOSTS)


def test_an_explicit_origin_list_is_matched_exactly():
    listed = ["https://dash.example.org", "http://127.0.0.1:8000"]
    assert origin_allowed("https://dash.example.org", "internal:8001", HOSTS, listed)
    assert origin_allowed("http://127.0.0.1:8000", None, HOSTS, listed)
    assert not origin_allowed("http://dash.example.org", "dash.example.org", HOSTS, listed)
    assert not origin_allowed("https://other.example.org", "other.example.org", HOSTS, listed)


@pytest.mark.parametrize("path", ["/ws/rooms/lobby/", "/ws/rooms/lobby/sync/", "/ws/nowhere/"])
@pytest.mark.parametrize(
    "headers",
    [
        [(b"origin", b"http://evil.test"), (b"host", b"127.0.0.1")],
        [(b"host", b"127.0.0.1")],
        [(b"origin", b"null"), (b"host", b"127.0.0.1")],
        [(b"origin", b"http://\xff\xfe"), (b"host", b"127.0.0.1")],
    ],
    ids=["foreign", "missing", "null", "unreadable"],
)
async def test_a_refused_origin_is_told_why_and_closed_for_good(path, headers):
    comm = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await comm.connect()
    assert connected  # accepted only to say why: a 403 handshake reads as 1006, retried forever
    text = await comm.receive_from(timeout=5)
    assert 'id="errors-room"' in text and "origin may not open" in text
    assert (await comm.receive_output(timeout=5)) == {
        "type": "websocket.close",
        "code": CLOSE_FOREIGN_ORIGIN,
    }
    await comm.disconnect()


async def test_settings_origin_list_lets_a_listed_page_in(settings):
    settings.DASHBOARD_ALLOWED_ORIGINS = ["https://dash.example.org"]
    comm = WebsocketCommunicator(
        application,
        "/ws/rooms/lobby/",
        headers=[(b"origin", b"https://dash.example.org"), (b"host", b"internal:8001")],
    )
    connected, _ = await comm.connect()
    assert connected
    assert 'id="sync-streams"' in await comm.receive_from(timeout=5)
    await comm.disconnect()


@pytest.mark.parametrize("path", ["/ws/sc/", "/ws/ac/lobby/"])
async def test_the_notes_endpoints_take_a_tool_without_an_origin_but_refuse_a_foreign_one(path):
    bare = WebsocketCommunicator(application, path, headers=[(b"host", b"127.0.0.1")])
    assert (await bare.connect())[0]
    assert await bare.receive_nothing(timeout=0.3)  # not refused: it waits for its text
    await bare.disconnect()
    foreign = WebsocketCommunicator(
        application, path, headers=[(b"origin", b"http://evil.example"), (b"host", b"127.0.0.1")]
    )
    assert (await foreign.connect())[0]
    assert "may not open" in await foreign.receive_from(timeout=5)
    assert (await foreign.receive_output(timeout=5))["code"] == CLOSE_FOREIGN_ORIGIN
    await foreign.disconnect()


async def test_the_room_path_still_refuses_a_handshake_without_an_origin():
    bare = WebsocketCommunicator(application, "/ws/rooms/lobby/", headers=[(b"host", b"127.0.0.1")])
    assert (await bare.connect())[0]
    assert "may not open" in await bare.receive_from(timeout=5)
    await bare.disconnect()
