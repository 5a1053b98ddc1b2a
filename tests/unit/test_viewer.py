"""A viewer's account of one stream: what reached it, what it missed (streams/viewer.py)."""

from streams.viewer import Delivery


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
