import pytest

from streams.rooms import MAX_ROOM_LENGTH, InvalidRoom, room_group, validate_room


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
