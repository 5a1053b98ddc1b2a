import json
import re

import pytest

from streams.choices import Mode, ThreadModel, Work
from streams.frames import (
    MAX_FRAME_BYTES,
    MAX_READ,
    Ack,
    Chat,
    Refusal,
    Reset,
    Run,
    SetThreadModel,
    Start,
    Stop,
    parse_producer_frame,
    parse_room_frame,
)


def frame(**payload) -> str:
    return json.dumps(payload)


# Frames as Chromium sent them from the page (Playwright's framesent), one per ws extension:
# htmx 2.0.10 puts the form's values beside HEADERS; htmx 4.0.0-beta6 sends headers and body
# apart, names the sender by tag and id (HX-Source) and adds a request id. Form values are
# strings in both; hx-vals keep their JSON types. tests/browser/test_browser.py checks that
# every frame the page sends, under each htmx, still has its version's shape.
HTMX2 = {
    "start": '{"action":"start","mode":"sync","count":"3","interval":"0.1","streams":"1",'
    '"work":"sleep","cost":"50","HEADERS":{"HX-Request":"true","HX-Trigger":"start-sync",'
    '"HX-Trigger-Name":null,"HX-Target":"start-sync",'
    '"HX-Current-URL":"http://127.0.0.1:51145/cap/"}}',
    "run": '{"action":"run","stream":1,"HEADERS":{"HX-Request":"true","HX-Trigger":null,'
    '"HX-Trigger-Name":null,"HX-Target":null,"HX-Current-URL":"http://127.0.0.1:51145/cap/"}}',
    "stop": '{"action":"stop","stream":"2","HEADERS":{"HX-Request":"true","HX-Trigger":null,'
    '"HX-Trigger-Name":null,"HX-Target":null,"HX-Current-URL":"http://127.0.0.1:51145/cap/"}}',
    "chat": '{"action":"chat","text":"hi <b>there</b>","HEADERS":{"HX-Request":"true",'
    '"HX-Trigger":"chat-form","HX-Trigger-Name":null,"HX-Target":"chat-form",'
    '"HX-Current-URL":"http://127.0.0.1:51145/cap/"}}',
}
HTMX4 = {
    "start": '{"headers":{"HX-Request":"true","HX-Source":"form#start-sync",'
    '"HX-Current-URL":"http://127.0.0.1:56099/cap/","HX-Request-Type":"partial",'
    '"HX-Target":"form#start-sync","HX-Request-ID":"1595f273-9065-49c5-a7ed-6c3adf211296"},'
    '"body":{"action":"start","mode":"sync","count":"3","interval":"0.1","streams":"1",'
    '"work":"sleep","cost":"50"}}',
    "run": '{"headers":{"HX-Request":"true","HX-Source":"form",'
    '"HX-Current-URL":"http://127.0.0.1:56099/cap/","HX-Request-Type":"partial",'
    '"HX-Target":"form","HX-Request-ID":"72252cd6-2984-4e34-b15b-280e7d9b8975"},'
    '"body":{"action":"run","stream":1}}',
    "stop": '{"headers":{"HX-Request":"true","HX-Source":"form",'
    '"HX-Current-URL":"http://127.0.0.1:56099/cap/","HX-Request-Type":"partial",'
    '"HX-Target":"form","HX-Request-ID":"4c2cdac4-0bf7-468e-ba9d-1cfec429c24b"},'
    '"body":{"action":"stop","stream":"2"}}',
    "chat": '{"headers":{"HX-Request":"true","HX-Source":"form#chat-form",'
    '"HX-Current-URL":"http://127.0.0.1:56099/cap/","HX-Request-Type":"partial",'
    '"HX-Target":"form#chat-form","HX-Request-ID":"b84172df-89bf-4573-be96-68d490f7878b"},'
    '"body":{"action":"chat","text":"hi <b>there</b>"}}',
}
HTMX = pytest.mark.parametrize("sent", [HTMX2, HTMX4], ids=["htmx2", "htmx4"])


@HTMX
def test_room_frames_from_each_htmx(sent):
    assert parse_room_frame(sent["start"]) == Start(Mode.SYNC, count=3, interval=0.1, streams=1)
    assert parse_room_frame(sent["stop"]) == Stop(2)
    assert parse_room_frame(sent["chat"]) == Chat("hi <b>there</b>")


@HTMX
def test_producer_frame_from_each_htmx(sent):
    assert parse_producer_frame(sent["run"], None, Mode.SYNC) == Run(number=1)


def edited(sent: str, **values) -> str:
    """A captured frame with some of its form's values changed, in the same shape."""
    payload = json.loads(sent)
    payload.get("body", payload).update(values)
    return json.dumps(payload)


@HTMX
def test_refusal_goes_to_the_panel_of_the_form_that_sent_it_under_each_htmx(sent):
    with pytest.raises(Refusal) as caught:
        parse_room_frame(edited(sent["start"], count="0"))
    assert caught.value.panel == "sync"
    assert caught.value.message == "Ticks must be between 1 and 10000, not 0."
    with pytest.raises(Refusal) as caught:
        parse_room_frame(edited(sent["chat"], action="fly"))
    assert (caught.value.panel, caught.value.message) == ("chat", "Unknown action 'fly'.")
    with pytest.raises(Refusal) as caught:  # a form without an id: the room's panel
        parse_room_frame(edited(sent["stop"], stream="x"))
    assert caught.value.panel == "room"


def test_start_from_json_numbers_of_a_plain_client():
    text = frame(action="start", mode="async", count=10, interval=0.25, streams=1)
    assert parse_room_frame(text) == Start(Mode.ASYNC, count=10, interval=0.25, streams=1)


def test_values_named_headers_or_body_from_a_plain_client_are_values():
    # Only both, as objects, are htmx 4's shape; anything else is read as the values.
    text = frame(action="chat", text="hi", headers="x", body={"action": "reset"})
    assert parse_room_frame(text) == Chat("hi")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (frame(action="stop", stream="7"), Stop(7)),
        (frame(action="reset"), Reset()),
        (frame(action="chat", text="  hi  "), Chat("hi")),
        (frame(action="ack", read=262144), Ack(262144)),
        (frame(action="ack", read=0), Ack(0)),
        (frame(action="ack", read=MAX_READ), Ack(MAX_READ)),
        (
            frame(action="thread_model", model="per_connection"),
            SetThreadModel(ThreadModel.PER_CONNECTION),
        ),
    ],
)
def test_room_commands(text, expected):
    assert parse_room_frame(text) == expected


def start(**overrides) -> str:
    payload = {"action": "start", "mode": "sync", "count": 5, "interval": 1, "streams": 1}
    return json.dumps(payload | overrides)


@pytest.mark.parametrize(
    ("text", "data", "panel", "message"),
    [
        (None, b"{}", "room", "Binary frames are not accepted"),
        ("{oops", None, "room", "Malformed JSON"),
        ("", None, "room", "Malformed JSON"),
        ('"start"', None, "room", "Send one JSON object"),
        ("[]", None, "room", "Send one JSON object"),
        (frame(action="fly"), None, "room", "Unknown action 'fly'"),
        (frame(), None, "room", "Unknown action None"),
        (frame(action="fly", HEADERS={"HX-Trigger": "chat-form"}), None, "chat", "Unknown action"),
        (start(mode="threads"), None, "room", "Mode must be 'sync' or 'async'"),
        (start(count=0), None, "sync", "Ticks must be between 1 and 10000, not 0"),
        (start(count=10001), None, "sync", "Ticks must be between 1 and 10000, not 10001"),
        (start(count=-3), None, "sync", "Ticks must be between 1 and 10000, not -3"),
        (start(count="2.5"), None, "sync", "Ticks must be a whole number"),
        (start(count=2.5), None, "sync", "Ticks must be a whole number"),
        (start(count=True), None, "sync", "Ticks must be a whole number"),
        (start(count="\u0661"), None, "sync", "Ticks must be a whole number"),
        (start(count=None), None, "sync", "Ticks must be a whole number, not None"),
        (start(interval=0.001), None, "sync", "Interval must be between 0.01 and 60 s"),
        (start(interval=61), None, "sync", "Interval must be between 0.01 and 60 s, not 61"),
        (start(interval="NaN"), None, "sync", "Interval must be a finite number"),
        (start(interval="inf"), None, "sync", "Interval must be a finite number"),
        (start(interval="-Infinity"), None, "sync", "Interval must be a finite number"),
        (
            '{"action": "start", "mode": "sync", "count": 5, "interval": NaN, "streams": 1}',
            None,
            "sync",
            "Interval must be a finite number",
        ),
        (
            '{"action": "start", "mode": "sync", "count": 5, "interval": Infinity, "streams": 1}',
            None,
            "sync",
            "Interval must be a finite number",
        ),
        (start(interval="soon"), None, "sync", "Interval must be a number of seconds"),
        (start(interval=False), None, "sync", "Interval must be a number of seconds"),
        (start(mode="async", streams=0), None, "async", "Streams at once must be between 1 and 16"),
        (
            start(mode="async", streams=17),
            None,
            "async",
            "Streams at once must be between 1 and 16",
        ),
        (frame(action="stop"), None, "room", "Stream number must be a whole number"),
        (frame(action="stop", stream="x"), None, "room", "Stream number must be a whole number"),
        (frame(action="chat", text="   "), None, "chat", "Type a message first"),
        (frame(action="chat", text=5), None, "chat", "Type a message first"),
        (frame(action="chat", text="x" * 501), None, "chat", "at most 500 characters, not 501"),
        (frame(action="thread_model", model="fibres"), None, "room", "Thread model must be one of"),
        (frame(action="chat", text="x" * MAX_FRAME_BYTES), None, "room", "Message too large"),
        ("[" * 30_000, None, "room", "Malformed JSON"),
        (frame(action="ack"), None, "room", "Characters read must be a whole number, not"),
        (frame(action="ack", read=-1), None, "room", "Characters read must be between 0"),
        (frame(action="ack", read=MAX_READ + 1), None, "room", "Characters read must be between"),
        (frame(action="ack", read=1.5), None, "room", "Characters read must be a whole number"),
        (frame(action="stop", stream="9" * 4301), None, "room", "Stream number must be a whole"),
        (start(count="9" * 5000), None, "sync", "Ticks must be a whole number"),
        (start(interval="1" * 5000), None, "sync", "Interval must be a number of seconds"),
    ],
)
def test_room_frame_rejected(text, data, panel, message):
    with pytest.raises(Refusal) as caught:
        parse_room_frame(text, data)
    assert message in caught.value.message
    assert caught.value.panel == panel


def test_frame_size_limit_counts_bytes_not_characters():
    text = json.dumps(
        {"action": "chat", "text": "\u00e9" * (MAX_FRAME_BYTES // 2)}, ensure_ascii=False
    )
    assert len(text) < MAX_FRAME_BYTES < len(text.encode())
    with pytest.raises(Refusal, match="too large"):
        parse_room_frame(text)


def test_long_bad_values_are_shortened_in_messages():
    with pytest.raises(Refusal) as caught:
        parse_room_frame(frame(action="x" * 1000))
    assert len(caught.value.message) < 80


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (frame(action="run", stream=3), Run(number=3)),
        (frame(action="run", count=50, interval=1), Run(count=50, interval=1.0)),
    ],
)
def test_producer_frames(text, expected):
    assert parse_producer_frame(text, None, Mode.SYNC) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (frame(action="start"), "Unknown action 'start'; send 'run'"),
        (frame(action="run"), "Ticks must be a whole number"),
        (frame(action="run", count=5, interval="nan"), "finite"),
        (frame(action="run", stream=0), "Stream number must be between"),
        (frame(action="run", stream="9" * 4301), "Stream number must be a whole number"),
    ],
)
def test_producer_frame_rejected(text, message):
    with pytest.raises(Refusal, match=message):
        parse_producer_frame(text, None, Mode.ASYNC)


def start_frame(**fields) -> str:
    return frame(**({"action": "start", "count": 10, "interval": 0.2, "streams": 1} | fields))


@pytest.mark.parametrize(
    ("fields", "work", "cost"),
    [
        ({"mode": "sync"}, Work.SLEEP, 0),
        ({"mode": "sync", "work": "", "cost": ""}, Work.SLEEP, 0),  # the form, untouched
        ({"mode": "sync", "work": "query", "cost": "50"}, Work.QUERY, 0),  # no cost to it
        ({"mode": "sync", "work": "http", "cost": "80"}, Work.HTTP, 80),
        ({"mode": "async", "work": "cpu", "cost": 50}, Work.CPU, 50),
        ({"mode": "async", "work": "blocking", "cost": 250, "interval": 1}, Work.BLOCKING, 250),
        ({"mode": "async", "work": "offload", "cost": 199}, Work.OFFLOAD, 199),
        ({"mode": "sync", "work": "cpu", "cost": 199}, Work.CPU, 199),
        ({"mode": "async", "work": "http"}, Work.HTTP, 50),  # a JSON client naming no cost
    ],
)
def test_start_takes_a_work_and_its_cost(fields, work, cost):
    command = parse_room_frame(start_frame(**fields))
    assert isinstance(command, Start) and (command.work, command.cost) == (work, cost)


@pytest.mark.parametrize(
    ("fields", "panel", "message"),
    [
        ({"mode": "async", "work": "dance"}, "async", "Work must be one of: sleep, query"),
        ({"mode": "sync", "work": "blocking", "cost": 10}, "sync", "blocking is async work"),
        ({"mode": "sync", "work": "offload", "cost": 10}, "sync", "Start it in the Async"),
        ({"mode": "async", "work": "cpu", "cost": 0}, "async", "between 1 and 1000"),
        ({"mode": "async", "work": "cpu", "cost": "x"}, "async", "Cost (ms per tick) must be"),
        ({"mode": "async", "work": "cpu", "cost": 251}, "async", "at most 250 ms, not 251"),
        ({"mode": "async", "work": "blocking", "cost": 300, "interval": 1}, "async", "freezes"),
        ({"mode": "sync", "work": "cpu", "cost": 200}, "sync", "below the interval: 200 ms"),
        ({"mode": "async", "work": "offload", "cost": 1000}, "async", "below the interval"),
    ],
)
def test_a_bad_work_or_cost_is_refused_in_its_panel(fields, panel, message):
    with pytest.raises(Refusal, match=re.escape(message)) as refused:
        parse_room_frame(start_frame(**fields))
    assert refused.value.panel == panel


def test_a_producer_of_its_own_takes_a_work_too():
    text = frame(action="run", count=5, interval=0.5, work="offload", cost=100)
    assert parse_producer_frame(text, None, Mode.ASYNC) == Run(
        count=5, interval=0.5, work=Work.OFFLOAD, cost=100
    )
    with pytest.raises(Refusal, match="async work"):
        parse_producer_frame(text, None, Mode.SYNC)
