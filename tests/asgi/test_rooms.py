"""Room names: the rule, and what comes of a name in the URL whatever is there: a 404 page
over HTTP and a clean application close over WebSocket, never a server error."""

from urllib.parse import quote

import pytest

from streams.close_codes import CLOSE_BAD_ROOM
from streams.rooms import MAX_ROOM_LENGTH, RESERVED, InvalidRoom, room_group, validate_room
from tests.asgi.wsclient import communicator

BAD_NAMES = [
    "two words",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "١٢٣",  # Arabic-Indic digits: \d in Python, not ASCII
    "lobby\n",
    "a" * 65,
    "a" * 99,
    "a" * 100,
    "a" * 1000,
    "a/b",
    "..",
    "...",
    ".hidden",
    "-x",
    "%2F",
    "🎈",
    "lobby\x00",
    "tab\there",
]
GOOD_NAMES = ["lobby", "a" * 64, "team-1.dev_2", "0.x-"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_http_bad_room_is_a_404_page(client, name):
    response = client.get(f"/{quote(name, safe='')}/")
    assert response.status_code == 404
    assert b"Traceback" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("name", GOOD_NAMES)
def test_http_good_room_is_the_dashboard(client, name):
    assert client.get(f"/{quote(name, safe='')}/").status_code == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", BAD_NAMES)
@pytest.mark.parametrize("suffix", ["", "sync/", "async/"])
async def test_websocket_bad_room_closes_cleanly(name, suffix):
    comm = communicator("/")
    # As Daphne passes it: percent-decoded, and nothing stripped (urllib would strip the
    # newline and the tab from a path given to the communicator).
    comm.scope["path"] = f"/ws/rooms/{name}/{suffix}"
    connected, _ = await comm.connect(timeout=5)
    assert connected
    assert (await comm.receive_output(timeout=5)) == {
        "type": "websocket.close",
        "code": CLOSE_BAD_ROOM,
    }
    await comm.disconnect()


@pytest.mark.parametrize("room", ["lobby", "a", "team-a.demo_2", "x" * MAX_ROOM_LENGTH])
def test_room_valid(room):
    assert validate_room(room) == room


@pytest.mark.parametrize(
    "room",
    [
        "",
        "x" * (MAX_ROOM_LENGTH + 1),
        "lobby\n",  # Channels' own group-name regex lets a trailing newline through
        "\u0661\u0662",  # Arabic-Indic digits: \w and \d match them, the ASCII class does not
        "caf\u00e9",
        "a b",
        "a/b",
        "a:b",
    ],
)
def test_room_invalid(room):
    with pytest.raises(InvalidRoom, match="ASCII letters"):
        validate_room(room)


def test_room_group_is_a_valid_channels_group_name():
    from channels.layers import BaseChannelLayer

    group = room_group("x" * MAX_ROOM_LENGTH)
    assert group == "room." + "x" * MAX_ROOM_LENGTH
    assert BaseChannelLayer().require_valid_group_name(group)


def test_room_group_refuses_invalid_room():
    with pytest.raises(InvalidRoom):
        room_group("bad room")


@pytest.mark.parametrize("name", sorted(RESERVED))
def test_the_dashboards_own_pages_are_no_room(name):
    with pytest.raises(InvalidRoom, match="one of the dashboard's own pages"):
        validate_room(name)
