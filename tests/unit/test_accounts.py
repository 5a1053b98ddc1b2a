"""A page's account of the streams: what reached it, what it missed, what it is sent."""

from dataclasses import replace

from streams.accounts import Account, Delivery, Report
from streams.choices import Mode, ThreadModel
from streams.stream import Stream


def test_delivery_counts_gaps_as_lost():
    delivery = Delivery()
    assert [delivery.tick(seq) for seq in (1, 2, 5, 6)] == [True] * 4
    assert (delivery.received, delivery.lost, delivery.last) == (4, 2, 6)


def test_delivery_late_joiner_counts_from_its_snapshot():
    delivery = Delivery(last=7)  # joined when tick 7 was the last sent
    assert delivery.tick(7) is False  # queued before the snapshot: stale, not shown
    assert delivery.tick(8) and delivery.tick(9)
    assert (delivery.received, delivery.lost) == (2, 0)


def test_delivery_stale_and_repeated_ticks_are_neither_received_nor_lost():
    delivery = Delivery()
    assert delivery.tick(3) is True
    assert delivery.tick(2) is False and delivery.tick(3) is False
    assert (delivery.received, delivery.lost) == (1, 2)


def test_delivery_end_counts_the_missing_tail():
    delivery = Delivery()
    delivery.tick(1)
    delivery.ended(final_seq=4)  # ticks 2, 3 and 4 never arrived
    assert (delivery.received, delivery.lost) == (1, 3)
    delivery.ended(final_seq=4)  # a repeated end changes nothing
    assert delivery.lost == 3


def test_delivery_of_a_stream_stopped_before_any_tick():
    delivery = Delivery()
    delivery.ended(final_seq=0)
    assert (delivery.received, delivery.lost) == (0, 0)


def event(kind: str, number: int = 1, seq: int = 0, html: str = "<b>x</b>") -> dict:
    return {"type": kind, "stream": number, "seq": seq, "html": html}


def test_a_page_is_sent_each_fresh_tick_and_its_own_count_of_missed_ones():
    account = Account()
    assert account.fragment(event("stream.waiting")) == ("<b>x</b>", None)
    assert account.fragment(event("stream.started")) == ("<b>x</b>", None)
    assert account.fragment(event("stream.tick", seq=1)) == ("<b>x</b>", None)
    html, _ = account.fragment(event("stream.tick", seq=3))  # 2 never came
    assert html.startswith("<b>x</b>") and 'id="stream-1-lost" class="lost lossy"' in html
    assert account.fragment(event("stream.tick", seq=2)) == ("", None)  # stale now
    html, report = account.fragment(event("stream.finished", seq=4))
    assert report == Report(1, received=2, lost=2) and "lossy" in html


def test_a_snapshot_sets_where_a_late_joiner_counts_from():
    account = Account()
    running = Stream("r", 7, Mode.SYNC, 10, 0.1, created_at=0.0).started(0.0, ThreadModel.SHARED)
    account.snapshot([replace(running, seq=5)])
    assert account.fragment(event("stream.waiting", 7)) == ("", None)  # its card is shown
    assert account.fragment(event("stream.tick", 7, seq=5)) == ("", None)  # in the snapshot
    assert account.fragment(event("stream.tick", 7, seq=6)) == ("<b>x</b>", None)
    assert account.fragment(event("stream.finished", 7, seq=6))[1] == Report(7, 1, 0)


def test_anything_else_is_forwarded_as_it_came():
    assert Account().fragment({"type": "chat.message", "html": "<p>hi</p>"}) == ("<p>hi</p>", None)
    assert Account().fragment(event("stream.stopped", 9, seq=3)) == ("<b>x</b>", None)
