"""Logins (``DASHBOARD_LOGIN_REQUIRED``) through the real ASGI application: which sessions
open a WebSocket, what the others are told, and that the lookup never waits for the
shared sync thread. Users and sessions are real: created in the test database and logged
in through Django's login, as the login page does it."""

import asyncio
import json
import time
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from streams import live
from streams.close_codes import CLOSE_LOGIN_REQUIRED
from streams.logins import session_key, user_of_session
from streams.stream import State
from tests.asgi.wsclient import (
    communicator,
    ended,
    open_producer,
    open_viewer,
    receive_until,
    run_to_end,
    start,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("connections_closed"),
]
# What a refused socket is told does not depend on the layer (nothing reaches one); what an
# admitted one does is run on each.
ON_EVERY_LAYER = pytest.mark.usefixtures("layer")
PASSWORD = "correct horse battery staple"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@pytest.fixture(autouse=True)
def logins_required(settings):
    settings.DASHBOARD_LOGIN_REQUIRED = True


@pytest.fixture
def user(db):
    return User.objects.create_user("alice", password=PASSWORD)


def logged_in(username: str = "alice", password: str = PASSWORD) -> str:
    """A session key from Django's own login (what the login page's POST does)."""
    client = Client()
    assert client.login(username=username, password=password)
    return client.cookies["sessionid"].value


@pytest.fixture
def key(user) -> str:
    return logged_in()


async def refused(path: str, cookie: str | None) -> str:
    """What a client of ``path`` with ``cookie`` is told, once closed with 4401."""
    comm = communicator(path, cookie)
    connected, _ = await comm.connect(timeout=10)
    assert connected  # accepted, so that a browser sees the code, not a failed handshake
    told = await comm.receive_from(timeout=5)
    assert await comm.receive_output(timeout=5) == {
        "type": "websocket.close",
        "code": CLOSE_LOGIN_REQUIRED,
    }
    await comm.disconnect()
    return told


PATHS = {
    "viewer": "/ws/rooms/{room}/",
    "sync producer": "/ws/rooms/{room}/sync/",
    "async producer": "/ws/rooms/{room}/async/",
    "notes sync": "/ws/sc/",
    "notes async": "/ws/ac/{room}/",
}


@pytest.mark.parametrize("path", PATHS.values(), ids=PATHS.keys())
@pytest.mark.parametrize(
    "cookie",
    [None, "sessionid=", "sessionid=0123456789abcdefghijklmnopqrstuv", "csrftoken=abc"],
    ids=["no cookie", "empty", "forged key", "other cookie"],
)
async def test_a_socket_without_a_logged_in_session_is_told_and_closed(room, path, cookie):
    told = await refused(path.format(room=room), cookie)

    assert "needs a login" in told and "/accounts/login/" in told
    if path.startswith("/ws/rooms/{room}/") and path.count("/") == 4:  # the viewer
        assert told.startswith('<div id="errors-room"')
    elif path.startswith("/ws/rooms/"):
        assert json.loads(told)["type"] == "error"
    else:
        assert told.startswith("error: This dashboard needs a login")


@ON_EVERY_LAYER
async def test_a_logged_in_session_runs_streams_in_both_modes(room, key):
    cookie = f"sessionid={key}"
    viewer, snapshot = await open_viewer(room, cookie)
    assert 'id="sync-streams"' in snapshot
    for mode in ("sync", "async"):
        [number] = await start(viewer, mode, count=3, interval=0.02)
        producer = await open_producer(room, mode, number, cookie)
        assert (await run_to_end(producer))[-1]["type"] == "stream.finished"
        await receive_until(viewer, ended(number))
    await viewer.disconnect()


async def test_an_expired_session_is_refused(room, key):
    await sync_to_async(Session.objects.filter(session_key=key).update, thread_sensitive=False)(
        expire_date=timezone.now() - timedelta(seconds=1)
    )

    assert "needs a login" in await refused(f"/ws/rooms/{room}/", f"sessionid={key}")


async def test_a_session_is_refused_once_its_user_changed_password(room, key, user):
    def change_password():
        user.set_password("a new one")
        user.save()

    await sync_to_async(change_password, thread_sensitive=False)()

    assert "needs a login" in await refused(f"/ws/rooms/{room}/", f"sessionid={key}")
    # The session itself is left for the next page load to flush: a socket cannot tell
    # the browser that its cookie changed.
    assert await Session.objects.filter(session_key=key).aexists()


async def test_a_session_of_a_deactivated_or_deleted_user_is_refused(room, key, user):
    cookie = f"sessionid={key}"
    await sync_to_async(User.objects.filter(pk=user.pk).update, thread_sensitive=False)(
        is_active=False
    )
    assert "needs a login" in await refused(f"/ws/rooms/{room}/", cookie)
    await sync_to_async(user.delete, thread_sensitive=False)()
    assert "needs a login" in await refused(f"/ws/rooms/{room}/", cookie)


def forged_session(user_id: str, auth_hash: str | None, backend: str = MODEL_BACKEND) -> str:
    """A session row in the database written without logging in: what a forged cookie
    would need the server to hold."""
    session = SessionStore()
    session[SESSION_KEY] = user_id
    session[BACKEND_SESSION_KEY] = backend
    if auth_hash is not None:
        session[HASH_SESSION_KEY] = auth_hash
    session.create()
    return session.session_key


@pytest.mark.parametrize(
    ("user_id", "auth_hash", "backend"),
    [
        ("{pk}", "0" * 64, MODEL_BACKEND),  # the wrong hash
        ("{pk}", None, MODEL_BACKEND),  # no hash at all
        ("{pk}", "", MODEL_BACKEND),
        ("{pk}", "{hash}", "django.contrib.auth.backends.RemoteUserBackend"),  # not configured
        ("not a number", "{hash}", MODEL_BACKEND),
        ("987654321", "{hash}", MODEL_BACKEND),  # no such user
    ],
)
def test_a_session_that_fails_django_s_checks_names_no_user(user, user_id, auth_hash, backend):
    good = user.get_session_auth_hash()
    fill = {"pk": user.pk, "hash": good}
    key = forged_session(user_id.format(**fill), auth_hash and auth_hash.format(**fill), backend)

    assert user_of_session(key) is None
    assert user_of_session(forged_session(str(user.pk), good)) == user  # the control


def test_a_session_from_before_a_secret_key_rotation_holds_while_the_old_key_is_a_fallback(
    settings, user
):
    settings.SECRET_KEY = "the-old-secret-key-" + "x" * 40
    key = logged_in()
    settings.SECRET_KEY = "the-new-secret-key-" + "y" * 40
    settings.SECRET_KEY_FALLBACKS = ["the-old-secret-key-" + "x" * 40]
    assert user_of_session(key) == user
    settings.SECRET_KEY_FALLBACKS = []
    assert user_of_session(key) is None


@pytest.mark.parametrize(
    "header", [b'sessionid="\\x00; ;=;', b"sessionid=\xff\xfe", b";;;", b"=", b"sessionid"]
)
def test_an_unreadable_cookie_header_names_no_user(header):
    scope = {"headers": [(b"cookie", header), (b"host", b"x")]}
    assert user_of_session(session_key(scope)) is None


def test_no_key_names_no_session():
    assert session_key({"headers": []}) is None
    assert user_of_session(None) is None
    assert user_of_session("x" * 5000) is None


def test_the_session_cookie_is_found_among_others_and_across_headers(settings):
    one = {"headers": [(b"cookie", b"csrftoken=a; sessionid=abc123def456; theme=dark")]}
    two = {"headers": [(b"cookie", b"csrftoken=a"), (b"cookie", b"sessionid=abc123def456")]}
    assert session_key(one) == session_key(two) == "abc123def456"
    settings.SESSION_COOKIE_NAME = "dashboard_session"
    assert session_key(one) is None


@ON_EVERY_LAYER
async def test_a_logged_in_viewer_connects_while_the_shared_thread_is_held(room, key):
    # A thread-sensitive call holds the shared sync thread as a sync stream's loop does.
    held = asyncio.create_task(sync_to_async(time.sleep)(2.0))
    await asyncio.sleep(0.1)
    asked = time.monotonic()
    viewer, snapshot = await open_viewer(room, f"sessionid={key}")
    connected = time.monotonic() - asked

    assert not held.done() and 'id="sync-streams"' in snapshot
    assert connected < 1.0, connected
    await viewer.disconnect()
    await held


async def test_a_refused_producer_leaves_its_stream_untouched(room, key):
    viewer, _ = await open_viewer(room, f"sessionid={key}")
    [number] = await start(viewer, "sync", count=3, interval=0.02)

    told = await refused(f"/ws/rooms/{room}/sync/?stream={number}", None)

    assert json.loads(told)["type"] == "error"
    [stream] = await live.astreams(room)
    assert (stream.number, stream.state, stream.attempts) == (number, State.WAITING, 0)
    await viewer.disconnect()


async def test_with_logins_off_no_session_is_asked_for(room, settings):
    settings.DASHBOARD_LOGIN_REQUIRED = False
    viewer, snapshot = await open_viewer(room)
    assert 'id="sync-streams"' in snapshot
    await viewer.disconnect()


LOGIN_REQUIRED = "django.contrib.auth.middleware.LoginRequiredMiddleware"


@pytest.fixture
def pages_need_a_login(settings):
    """What settings.py does with DASHBOARD_LOGIN_REQUIRED set in the environment."""
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, LOGIN_REQUIRED]


@pytest.mark.usefixtures("pages_need_a_login")
@pytest.mark.parametrize("path", ["/", "/lobby/", "/explain/", "/not a room/"])
def test_a_page_sends_a_logged_out_person_to_log_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/")


@pytest.mark.usefixtures("pages_need_a_login")
def test_logging_in_leads_back_to_the_room_and_out_again(client, user):
    form = client.get("/accounts/login/?next=/team-a/")
    assert form.status_code == 200
    page = form.content.decode()
    assert 'name="username"' in page and 'name="password"' in page
    assert 'name="next" value="/team-a/"' in page

    wrong = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert wrong.status_code == 200 and "Please enter a correct username" in wrong.content.decode()

    done = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD, "next": "/team-a/"}
    )
    assert (done.status_code, done["Location"]) == (302, "/team-a/")
    room = client.get("/team-a/").content.decode()
    assert "alice" in room and 'action="/accounts/logout/"' in room
    assert 'data-login="/accounts/login/?next=/team-a/"' in room
    assert f'data-login-code="{CLOSE_LOGIN_REQUIRED}"' in room

    out = client.post("/accounts/logout/")
    assert (out.status_code, out["Location"]) == (302, "/accounts/login/")
    assert client.get("/team-a/").status_code == 302


@pytest.mark.usefixtures("pages_need_a_login")
def test_the_login_page_refuses_a_post_without_its_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 403


@pytest.mark.usefixtures("pages_need_a_login")
def test_the_slow_endpoint_needs_no_login(client):
    # http work requests it from the producer's process, with no cookie.
    assert client.get("/api/slow/?ms=0").json() == {"slept_ms": 0}


@pytest.mark.usefixtures("pages_need_a_login")
def test_metrics_need_no_login(client):
    # Prometheus has no session; the client allowlist and ALLOWED_HOSTS guard /metrics.
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200 and b"dashboard_viewers" in response.content


def test_with_logins_off_pages_ask_for_none(client):
    page = client.get("/")
    assert page.status_code == 200 and "Log out" not in page.content.decode()
