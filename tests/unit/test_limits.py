import pytest

from streams.limits import RateLimit, Unread, viewer_refusal


def test_rate_limit_allows_up_to_the_limit_in_a_window():
    limit = RateLimit(limit=3, window=60)
    assert [limit.allow(t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert limit.retry_after(3) == 57


def test_rate_limit_window_slides():
    limit = RateLimit(limit=2, window=10)
    assert limit.allow(0) and limit.allow(5)
    assert not limit.allow(9.99)
    assert limit.allow(10)  # the event at 0 has left the window
    assert not limit.allow(14)
    assert limit.retry_after(14) == pytest.approx(1)
    assert limit.allow(15.5)


def test_refused_events_do_not_count():
    limit = RateLimit(limit=1, window=10)
    assert limit.allow(0)
    for t in range(1, 10):
        assert not limit.allow(t)
    assert limit.allow(10)


def test_viewer_refusal_only_at_the_limit():
    assert viewer_refusal(4, limit=5) is None
    assert viewer_refusal(5, limit=5) == (
        "This server process has its limit of 5 viewers; try again later."
    )


def test_unread_allows_up_to_the_limit_then_refuses():
    unread = Unread(limit=100)
    assert unread.send(60) and unread.send(40)  # 100 unread: at the limit, not past it
    assert not unread.send(1)
    assert unread.unread == 100  # the refused send is not counted


def test_reading_makes_room_again():
    unread = Unread(limit=100)
    assert unread.send(100)
    unread.ack(70)
    assert unread.send(70)  # 100 unread again
    assert not unread.send(1)


def test_an_ack_counts_no_more_than_was_sent_and_never_goes_back():
    unread = Unread(limit=100)
    unread.send(50)
    unread.ack(80)  # a client counting UTF-16 units may say more than was sent
    assert unread.read == 50
    unread.ack(10)  # late or repeated: ignored
    assert unread.read == 50
    assert unread.send(100) and not unread.send(1)
