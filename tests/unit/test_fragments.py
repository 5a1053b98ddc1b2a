"""The fragments' ids are the contract with the page and the htmx ws extension."""

import re
import time
from html.parser import HTMLParser

import pytest

from streams import fragments
from streams.choices import Mode, ThreadModel
from streams.history import compare
from streams.models import StreamRun
from streams.stream import State, Stream
from tests.factories import ticked

pytestmark = pytest.mark.django_db


class TopLevel(HTMLParser):
    """Top-level elements of a fragment, with their attributes; and every id in it."""

    VOID = {"input", "br", "img", "meta", "link", "hr", "col", "source", "area", "wbr"}

    def __init__(self, text: str) -> None:
        super().__init__()
        self.depth = 0
        self.top: list[tuple[str, dict[str, str | None]]] = []
        self.ids: set[str] = set()
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        if self.depth == 0:
            self.top.append((tag, attributes))
        if tag not in self.VOID:
            self.depth += 1

    def handle_startendtag(self, tag, attrs):
        attributes = dict(attrs)
        if self.depth == 0:
            self.top.append((tag, attributes))

    def handle_endtag(self, tag):
        self.depth -= 1


def running(number=3, mode=Mode.SYNC) -> Stream:
    stream = Stream(
        room="lobby", number=number, mode=mode, count=10, interval=0.5, created_at=time.time()
    ).started(time.time(), ThreadModel.SHARED)
    return ticked(stream, 1, 0.01)


def every_fragment() -> dict[str, str]:
    now = time.time()
    stream = running()
    run = StreamRun.from_stream(stream.ended(State.DONE, now), [0.01])
    return {
        "stream_card": fragments.stream_card(stream, now),
        "stream_body": fragments.stream_body(stream, now),
        "new_stream": fragments.new_stream(stream, now),
        "columns": fragments.columns([stream, running(4, Mode.ASYNC)], now),
        "error": fragments.error("sync", "Nope"),
        "clear_error": fragments.clear_error("async"),
        "chat_line": fragments.chat_line("hi", now),
        "thread_model": fragments.thread_model("lobby", ThreadModel.SHARED),
        "producers": fragments.producers("lobby", [stream]),
        "history_row": fragments.history_row(run),
        "gauges": fragments.gauges("host:1", 0.001, 2.5, waiting=True),
        "presence": fragments.presence(3),
        "lost": fragments.lost(3, 2),
        "comparison": fragments.comparison(compare([run])),
    }


def test_fragments_are_top_level_elements_with_id_and_oob():
    for name, text in every_fragment().items():
        top = TopLevel(text).top
        assert top, name
        for tag, attributes in top:
            assert attributes.get("id"), (name, tag)
            assert attributes.get("hx-swap-oob"), (name, tag)


def test_fragments_target_ids_that_the_page_has(client):
    page = TopLevel(client.get("/lobby/").content.decode()).ids
    # Appended by new_stream before anything replaces them.
    cards = {"stream-3", "stream-4", "stream-3-body", "stream-4-body", "stream-3-lost"}
    for name, text in every_fragment().items():
        for _, attributes in TopLevel(text).top:
            assert attributes["id"] in page | cards, (name, attributes["id"])


def test_cards_inside_lists_are_not_oob_themselves():
    columns = fragments.columns([running()], time.time())
    assert columns.count("hx-swap-oob") == 2  # the two lists, not the cards inside


def test_a_tick_leaves_the_stop_button_alone():
    now = time.time()
    body = fragments.stream_body(running(), now)
    assert 'id="stream-3-body"' in body and "Stop" not in body
    assert "Stop" in fragments.stream_card(running(), now)


def test_chat_text_is_escaped_and_inside_hx_disable_and_hx_ignore(client):
    line = fragments.chat_line('<script>alert(1)</script><b hx-get="/x">', time.time())
    assert "<script>" not in line and "&lt;script&gt;" in line
    assert 'hx-get="/x"' not in line
    page = client.get("/lobby/").content.decode()
    # hx-disable is htmx 2's word for "leave this alone", hx-ignore htmx 4's.
    assert '<div id="chat-log" class="chat-log" hx-disable hx-ignore' in page


def test_error_text_is_escaped():
    assert "<img" not in fragments.error("room", "<img src=x onerror=alert(1)>")


def test_a_tick_body_carries_its_schedule_and_this_pages_lost_count():
    body = fragments.stream_body(running(), time.time())
    assert re.search(r'data-seq="1" data-scheduled="\d+\.\d{6}" data-sent="\d+\.\d{6}"', body)
    assert 'data-late="0.010000"' in body and "p95 10 ms" in body
    assert '<dd id="stream-3-lost" class="lost">0</dd>' in body
    assert fragments.lost(3, 2) == (
        '<dd id="stream-3-lost" class="lost lossy" hx-swap-oob="true">2</dd>'
    )


def test_presence_says_viewers():
    assert "<b>1</b> viewer in this room" in fragments.presence(1)
    assert "<b>4</b> viewers in this room" in fragments.presence(4)


def test_status_text_tells_why_a_stream_waits():
    stream = Stream(room="r", number=1, mode=Mode.SYNC, count=1, interval=1, created_at=0)
    assert fragments.status_text(stream) == "waiting for its connection"
    assert fragments.status_text(stream.attempted()) == "waiting for the shared sync thread"
    assert fragments.status_text(stream.attempted().attempted().attempted()) == (
        "waiting for the shared sync thread, retry 2"
    )


@pytest.mark.parametrize(
    ("htmx", "connect", "send", "opened"),
    [
        (2, "ws-connect", "ws-send", "load"),
        (4, "hx-ws:connect", "hx-ws:send", "htmx:after:ws:connection from:'closest div'"),
    ],
)
def test_producer_fragment_opens_one_connection_per_stream(settings, htmx, connect, send, opened):
    settings.DASHBOARD_HTMX = htmx
    text = fragments.producers("lobby", [running(3), running(4, Mode.ASYNC)])
    assert f'<div id="producer-3" {connect}="/ws/rooms/lobby/sync/?stream=3"' in text
    assert f'<div id="producer-4" {connect}="/ws/rooms/lobby/async/?stream=4"' in text
    # Each sends its "run" when its connection opens (after a refused handshake, too).
    assert text.count(f'<form {send} hx-trigger="{opened}"') == 2


def test_rate_before_any_time_is_zero():
    assert fragments.rate(5, 0.0) == 0.0
    assert fragments.rate(10, 4.0) == 2.5
