"""Logins (``DASHBOARD_LOGIN_REQUIRED``) on a real Daphne: a user made with createsuperuser,
logged in through the login page; what a socket without that session gets; and that a
logged-in viewer still connects at once while a sync stream holds the shared thread, where
behind Channels' AuthMiddlewareStack it waits for the loop to end."""

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from streams.client import (
    ClientError,
    Viewer,
    handshake_headers,
    run_producer,
    run_streams,
    ws_base,
)
from streams.close_codes import CLOSE_LOGIN_REQUIRED, CLOSE_TRY_AGAIN
from tests.cards import card_body
from tests.servers import Server, fetch, log_in, served

pytestmark = pytest.mark.live

LOGINS = {"DASHBOARD_LOGIN_REQUIRED": "true"}
USER, PASSWORD = "alice", "a password for the live tests"


@contextlib.contextmanager
def with_a_user(app: str = "dashboard_project.asgi:application") -> Iterator[tuple[Server, str]]:
    """A Daphne with logins on and one user; the server and that user's logged-in cookie."""
    with served(env=LOGINS, app=app) as server:
        server.create_user(USER, PASSWORD)
        yield server, log_in(server.url, USER, PASSWORD)


@pytest.fixture(scope="module")
def logged_in() -> Iterator[tuple[Server, str]]:
    with with_a_user() as found:
        yield found


async def closed_with(url: str, path: str, cookie: str | None) -> tuple[int | None, list[str]]:
    """Open ``path`` as a page of ``url`` with ``cookie``; the close code and what came first."""
    frames = []
    async with connect(
        ws_base(url) + path, additional_headers=handshake_headers(url, cookie), open_timeout=10
    ) as ws:
        async with asyncio.timeout(10):
            with contextlib.suppress(ConnectionClosed):
                async for frame in ws:
                    frames.append(str(frame))
    return ws.close_code, frames


async def test_pages_send_a_logged_out_person_to_the_login_page(logged_in):
    server, _ = logged_in
    status, page = fetch(f"{server.url}/lobby/")  # urllib follows the redirect
    assert status == 200 and 'name="password"' in page and 'value="/lobby/"' in page


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("/ws/rooms/{room}/", '<div id="errors-room"'),
        ("/ws/rooms/{room}/sync/", '{"type": "error"'),
        ("/ws/rooms/{room}/async/", '{"type": "error"'),
        ("/ws/sc/", "error: This dashboard needs a login"),
        ("/ws/ac/{room}/", "error: This dashboard needs a login"),
    ],
)
@pytest.mark.parametrize("cookie", [None, "sessionid=forged0123456789abcdefghijklmno"])
async def test_a_socket_without_a_logged_in_session_gets_4401_through_daphne(
    logged_in, room, path, said, cookie
):
    server, _ = logged_in
    code, frames = await closed_with(server.url, path.format(room=room), cookie)
    assert code == CLOSE_LOGIN_REQUIRED
    assert len(frames) == 1 and frames[0].startswith(said) and "/accounts/login/" in frames[0]


async def test_an_expired_session_gets_4401(room):
    with with_a_user() as (server, cookie):
        with contextlib.closing(sqlite3.connect(server.env["DJANGO_DB_PATH"])) as db, db:
            db.execute("UPDATE django_session SET expire_date = '2000-01-01 00:00:00'")
        code, _ = await closed_with(server.url, f"/ws/rooms/{room}/", cookie)
        assert code == CLOSE_LOGIN_REQUIRED


async def test_a_logged_in_session_runs_both_modes_and_the_terminal_client_is_told_without_one(
    logged_in, room
):
    server, cookie = logged_in
    for mode in ("sync", "async"):
        [run] = await run_streams(server.url, room, mode, count=3, interval=0.05, streams=1,
                                  cookie=cookie)  # fmt: skip
        assert (run.outcome, len(run.ticks)) == ("done", 3)
    # run_streams and manage.py stream --url without the cookie: the server's words.
    with pytest.raises(ClientError, match="needs a login"):
        await run_streams(server.url, room, "sync", count=3, interval=0.05, streams=1)
    with pytest.raises(ClientError, match="needs a login"):
        await run_producer(server.url, room, "async", count=3, interval=0.05)


async def test_during_a_sync_loop_a_logged_in_viewer_connects_within_a_second(logged_in, room):
    server, cookie = logged_in
    async with Viewer(server.url, room, cookie) as starter:
        [number] = await starter.start("sync", count=2, interval=2, streams=1)
        stream = asyncio.create_task(run_producer(server.url, room, "sync", number, cookie=cookie))
        await starter.wait_for(card_body(number))
        await asyncio.sleep(0.3)  # the loop holds the shared thread for ~3.7 s more

        asked = time.monotonic()
        async with Viewer(server.url, room, cookie) as late:
            snapshot = await late.wait_for('id="sync-streams"')
            connected = time.monotonic() - asked
        run = await stream

    assert connected < 1.0, connected
    assert card_body(number) in snapshot  # it saw the stream running, mid-loop
    assert run.ended_at is not None and run.ended_at - asked > 2  # the loop had time to go


async def test_behind_auth_middleware_stack_the_same_viewer_waits_for_the_loop(room):
    # What streams/logins.py avoids, kept true: bench/login_stacks.py mounts the viewer
    # behind Channels' AuthMiddlewareStack (python -m bench.logins has the figures).
    with with_a_user("bench.login_stacks:auth_middleware_stack") as (server, cookie):
        async with Viewer(server.url, room, cookie) as starter:
            [number] = await starter.start("sync", count=2, interval=1.5, streams=1)
            stream = asyncio.create_task(
                run_producer(server.url, room, "sync", number, cookie=cookie)
            )
            await starter.wait_for(card_body(number))

            asked = time.monotonic()
            async with Viewer(server.url, room, cookie) as late:
                await late.wait_for('id="sync-streams"')
                connected = time.monotonic() - asked
            run = await stream

    assert run.ended_at is not None
    assert connected > 1.0 and asked + connected >= run.ended_at - 0.2, connected


@contextlib.contextmanager
def database_gone(database: Path) -> Iterator[None]:
    """The SQLite file swapped for a directory, which SQLite cannot open: every new
    connection fails, as with a database server that went away. Put back after."""
    aside = database.with_suffix(".aside")
    database.rename(aside)
    database.mkdir()
    try:
        yield
    finally:
        database.rmdir()
        aside.rename(database)


async def test_a_session_store_that_does_not_answer_is_a_retry_not_a_logout(room):
    with with_a_user() as (server, cookie):
        with database_gone(Path(server.env["DJANGO_DB_PATH"])):
            code, frames = await closed_with(server.url, f"/ws/rooms/{room}/", cookie)
        assert code == CLOSE_TRY_AGAIN and "session store does not answer" in frames[0]
        async with Viewer(server.url, room, cookie) as viewer:  # back: let in again
            await viewer.wait_for('id="sync-streams"')
        assert "could not check a WebSocket's login" in server.log.read_text()
