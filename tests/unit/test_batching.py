"""When a hub hands an event on (streams/batching.py): the clock is an argument."""

from streams.batching import Window


def test_a_quiet_room_sends_each_event_at_once():
    window = Window(0.02)
    for now in (10.0, 10.1, 10.2):  # one stream's ticks, 100 ms apart
        assert window.due(now) is None
        window.delivered(now, 1)


def test_in_a_quiet_room_an_event_soon_after_a_delivery_waits_for_its_window_to_end():
    window = Window(0.02)
    window.delivered(10.0, 1)
    assert window.due(10.005) == 10.02
    window.delivered(10.02, 1)
    assert window.due(10.05) is None


def test_once_events_came_together_each_window_waits_its_length_for_a_second():
    window = Window(0.02)
    window.delivered(10.0, 2)
    assert window.due(10.005) == 10.025  # from its first event, not from the last delivery
    assert window.due(10.1) == 10.12  # the next burst: its first tick waits for the rest
    window.delivered(10.12, 1)
    assert window.due(10.9) == 10.92  # busy still: a batch of one does not end it
    assert window.due(11.0) is None  # a second after the last batch: quiet again


def test_a_window_of_zero_is_off():
    window = Window(0.0)
    for now in (10.0, 10.0, 10.001):
        assert window.due(now) is None
        window.delivered(now, 1)
    window.delivered(10.001, 5)
    assert window.due(10.001) is None
