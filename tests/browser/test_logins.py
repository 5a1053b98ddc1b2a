"""Logins in a real browser (``DASHBOARD_LOGIN_REQUIRED``): a person is sent to the login
page, logs in, lands in the room and runs both modes; a page whose session ended meanwhile
says so when its socket is refused (4401) and takes the person to log in again, and back.

One Daphne of this module's own, with logins on and one user made by createsuperuser."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.pages import cards, expect_finished, expect_link, history, log_in, start
from tests.servers import served

pytestmark = pytest.mark.browser
USER, PASSWORD = "alice", "a password for the browser"


@pytest.fixture(scope="module")
def server(chromium: str) -> Iterator[str]:
    with served(env={"DASHBOARD_LOGIN_REQUIRED": "true"}) as logins:
        logins.create_user(USER, PASSWORD)
        yield logins.url


def test_browser_logs_in_and_runs_both_modes_to_done(open_page, server, room):
    a = open_page(f"{server}/{room}/", wait_live=False)
    expect(a.page).to_have_url(f"{server}/accounts/login/?next=/{room}/")
    log_in(a.page, USER, "not the password")
    expect(a.page.locator(".errors")).to_contain_text("Please enter a correct username")

    log_in(a.page, USER, PASSWORD)
    expect(a.page).to_have_url(f"{server}/{room}/")
    expect_link(a.page, "live")
    expect(a.page.locator(".account")).to_contain_text(USER)
    start(a.page, "sync", count=4, interval=0.1, streams=1)
    start(a.page, "async", count=4, interval=0.1, streams=2)
    for mode, streams in (("sync", 1), ("async", 2)):
        expect(cards(a.page, mode, ".state-done")).to_have_count(streams)
        for body in cards(a.page, mode).all():
            expect_finished(body, 4)
    assert [row["Outcome"] for row in history(a.page, 3)] == ["finished"] * 3
    expect(a.page.locator("#producers > *")).to_have_count(0)
    assert a.errors == []


def test_browser_page_whose_session_ended_says_why_and_goes_to_log_in(open_page, server, room):
    a = open_page(f"{server}/{room}/", wait_live=False)
    log_in(a.page, USER, PASSWORD)
    expect_link(a.page, "live")

    # Logged out in another tab of the same browser: the session is gone on the server.
    other = a.page.context.new_page()
    other.goto(f"{server}/{room}/")
    other.get_by_role("button", name="Log out").click()
    expect(other).to_have_url(f"{server}/accounts/login/")

    # The first page's socket comes back as after Daphne's 24 h timeout (1000), and is
    # refused: the page says why, stops retrying and takes the person to log in.
    a.page.evaluate(
        "() => document.getElementById('viewer')['htmx-internal-data'].webSocket.socket.close(1000)"
    )
    expect(a.page.locator("#errors-room")).to_contain_text("needs a login")
    expect(a.page.locator("p.link .link-login")).to_be_visible()
    expect(a.page.locator("p.link .link-login")).to_have_text("logged out")
    expect(a.page).to_have_url(f"{server}/accounts/login/?next=/{room}/")

    log_in(a.page, USER, PASSWORD)
    expect(a.page).to_have_url(f"{server}/{room}/")
    expect_link(a.page, "live")
    start(a.page, "async", count=3, interval=0.1, streams=1)
    expect(cards(a.page, "async", ".state-done[data-seq='3']")).to_have_count(1)
    assert a.errors == []
