"""A generated corpus of malformed frames against a live connection of each kind.

Every case gets a specific error (an error fragment for the viewer, an error JSON for a
producer) or a documented close code (4409 for a producer refused its stream), over a
connection that stays up for the next case. Across the corpus: no 1011 close, no error
logged, every answer within seconds.
"""

import json
import logging
import time
from typing import Any

import pytest

from streams.close_codes import CLOSE_REFUSED
from streams.frames import MAX_FRAME_BYTES
from tests.asgi.wsclient import communicator, open_viewer, receive_reply, receive_until

# The parsing does not depend on the layer; the consumer tests cover every layer.
pytestmark = pytest.mark.django_db(transaction=True)

Frame = tuple[str | None, bytes | None]  # (text, bytes), as a WebSocket message carries

MISSING = object()
NOT_WHOLE = [MISSING, None, -1, 0, 1.5, "1.5", "abc", "", " ", [], {}, True, "1e3", "٣",
             "9" * 5000, 10**30]  # fmt: skip
NOT_SECONDS = [MISSING, None, 0, -1, 0.001, 61, "NaN", "Infinity", "-inf", "abc", "", [], {},
               True, "1" * 40]  # fmt: skip
RAW_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" * 5000]  # JSON tokens
VALID_START = {"action": "start", "mode": "async", "count": 3, "interval": 0.5, "streams": 1}


def with_field(base: dict[str, Any], key: str, value: Any) -> str:
    frame = dict(base)
    if value is MISSING:
        frame.pop(key, None)
    else:
        frame[key] = value
    return json.dumps(frame)


def raw_number(base: dict[str, Any], key: str, token: str) -> str:
    """``base`` with ``key`` set to a bare JSON token json.dumps would not write."""
    return with_field(base, key, "@@").replace('"@@"', token)


def envelope_cases() -> list[Frame]:
    """Frames wrong before any action is read: the same for both kinds of connection."""
    texts = ["", " ", "{", "}", "nope", "[]", "[1, 2]", "null", "1", '"text"', "true",
             '{"action": 1}', '{"action": null}', '{"action": ["start"]}', '{"action": {}}',
             "{" * 100_000 + "}" * 100_000, "[" * 30_000 + "]" * 30_000,
             json.dumps({"action": "x" * (MAX_FRAME_BYTES + 1)}),
             " " * (MAX_FRAME_BYTES + 1), "\u0000", '{"action": "start"' + ", " * 5]  # fmt: skip
    binaries = [b"", b"\xff\xfe\xfd", b"\xc3\x28", b'{"action": "reset"}', b"\x00" * 70_000]
    return [(t, None) for t in texts] + [(None, b) for b in binaries]


def room_cases() -> list[Frame]:
    cases = envelope_cases()
    for action in ["fly", "", "START", "Start", "run", "stop_all", "__proto__", "x" * 200]:
        cases.append((json.dumps({"action": action}), None))
    for key, values in [("count", NOT_WHOLE), ("streams", NOT_WHOLE), ("interval", NOT_SECONDS)]:
        cases += [(with_field(VALID_START, key, v), None) for v in values]
    for key in ["count", "streams", "interval"]:
        cases += [(raw_number(VALID_START, key, token), None) for token in RAW_NUMBERS]
    for mode in [MISSING, None, "", "SYNC", "fast", 1, [], {"mode": "sync"}]:
        cases.append((with_field(VALID_START, "mode", mode), None))
    cases += [(with_field(VALID_START, "count", 10_001), None),
              (with_field(VALID_START, "count", 100_000), None),
              (with_field(VALID_START, "streams", 17), None),
              (with_field(VALID_START, "interval", 60.5), None)]  # fmt: skip
    for number in [*NOT_WHOLE, 2**31 + 1, 424242]:  # 424242: well formed, no such stream
        cases.append((with_field({"action": "stop"}, "stream", number), None))
    for text in [MISSING, None, "", "   ", 1, [], {}, "x" * 501]:
        cases.append((with_field({"action": "chat"}, "text", text), None))
    for model in [MISSING, None, "", "threads", "SHARED", 1, []]:
        cases.append((with_field({"action": "thread_model"}, "model", model), None))
    for read in [*(v for v in NOT_WHOLE if v != 0), 2**53 + 1]:  # 0 is a read of nothing yet
        cases.append((with_field({"action": "ack"}, "read", read), None))
    return cases


def producer_parse_cases() -> list[Frame]:
    """RunRefused before any stream is looked up: the connection stays open."""
    cases = envelope_cases()
    run = {"action": "run", "count": 3, "interval": 0.5}
    for action in [MISSING, None, "start", "RUN", "", 1]:
        cases.append((with_field(run, "action", action), None))
    cases += [(with_field(run, "count", v), None) for v in NOT_WHOLE if v not in (None, MISSING)]
    cases += [(with_field(run, "interval", v), None) for v in NOT_SECONDS]
    cases += [(raw_number(run, key, t), None) for key in ("count", "interval") for t in RAW_NUMBERS]
    cases += [(with_field(run, "stream", v), None) for v in NOT_WHOLE if v not in (None, MISSING)]
    return cases


def test_the_corpus_has_at_least_two_hundred_cases():
    for cases in (room_cases(), producer_parse_cases()):
        assert len({repr(c) for c in cases}) == len(cases)  # no case twice
    # The producer cases run on a sync and on an async connection.
    assert len(room_cases()) + 2 * len(producer_parse_cases()) >= 200


async def send(comm: Any, frame: Frame) -> None:
    """As Daphne delivers it: ``send_to`` would refuse an empty frame."""
    text, data = frame
    await comm.send_input(
        {"type": "websocket.receive", "text": text}
        if text is not None
        else {"type": "websocket.receive", "bytes": data}
    )


async def test_every_malformed_room_frame_gets_a_specific_error_and_the_page_goes_on(room, caplog):
    caplog.set_level(logging.WARNING)
    viewer, _ = await open_viewer(room)
    slowest = 0.0
    for index, frame in enumerate(room_cases()):
        asked = time.monotonic()
        await send(viewer, frame)
        reply = await receive_reply(viewer)
        slowest = max(slowest, time.monotonic() - asked)
        assert 'class="errors"' in reply and "</div>" in reply, (index, frame, reply)
        message = reply.split('role="alert"', 1)[1]
        assert message.split(">", 1)[1].split("<", 1)[0].strip(), (index, frame, reply)
    # Still the same connection, still working: a chat line comes back.
    await viewer.send_json_to({"action": "chat", "text": "still here"})
    await receive_until(viewer, lambda fs: "still here" in "".join(fs))
    await viewer.disconnect()
    assert slowest < 5, slowest
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_every_malformed_producer_frame_gets_an_error_on_one_open_connection(
    room, mode, caplog
):
    caplog.set_level(logging.WARNING)
    producer = communicator(f"/ws/rooms/{room}/{mode}/")
    assert (await producer.connect(timeout=10))[0]
    for index, frame in enumerate(producer_parse_cases()):
        await send(producer, frame)
        reply = await producer.receive_json_from(timeout=5)
        assert reply["type"] == "error" and reply["message"], (index, frame, reply)
    await producer.disconnect()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(
    ("frame", "message", "closed"),
    [
        ('{"action": "run", "stream": 424242}', "No stream 424242", True),  # no such stream
        ('{"action": "run", "stream": "7"}', "No stream 7", True),
        # RunRefused by the parser, before any stream: the connection stays open.
        ('{"action": "run", "count": 10001, "interval": 1}', "Ticks must be between", False),
    ],
)
async def test_a_refused_run_closes_with_the_documented_code(
    room, mode, frame, message, closed, caplog
):
    caplog.set_level(logging.WARNING)
    producer = communicator(f"/ws/rooms/{room}/{mode}/")
    assert (await producer.connect(timeout=10))[0]
    await producer.send_to(text_data=frame)
    reply = await producer.receive_json_from(timeout=5)
    assert reply["type"] == "error" and message in reply["message"]
    if closed:
        assert (await producer.receive_output(timeout=5)) == {
            "type": "websocket.close",
            "code": CLOSE_REFUSED,
        }
    else:
        assert await producer.receive_nothing(timeout=0.2)
    await producer.disconnect()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
