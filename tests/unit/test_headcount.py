import time

from streams import live
from streams.headcount import due, live_processes, renewed, total
from streams.presence import Presence
from streams.process import PROCESS


def test_renewing_adds_the_process_and_drops_lapsed_ones():
    registry = {"a:1": 100.0, "b:2": 130.0}
    assert renewed(registry, "c:3", now=110.0, lease=30) == {"b:2": 130.0, "c:3": 140.0}
    assert renewed(registry, "b:2", now=110.0, lease=30) == {"b:2": 140.0}


def test_nothing_or_an_older_format_is_an_empty_registry():
    for registry in (None, 7, "x", []):
        assert renewed(registry, "a:1", now=0.0, lease=30) == {"a:1": 30.0}
        assert live_processes(registry, now=0.0) == []


def test_a_process_counts_until_its_lease_ends():
    registry = {"a:1": 100.0, "b:2": 130.0}
    assert live_processes(registry, now=99.0) == ["a:1", "b:2"]
    assert live_processes(registry, now=100.0) == ["b:2"]  # a died: its lease lapsed


def test_total_counts_only_counts():
    assert total([3, None, 2, 0, -1, True, "4"]) == 5


def test_a_process_renews_its_registration_once_a_third_of_its_lease_has_gone():
    registry = {"a:1": 130.0}  # renewed at 100 with a 30 s lease
    assert not due(registry, "a:1", now=109.0, lease=30)
    assert due(registry, "a:1", now=111.0, lease=30)
    assert due(registry, "b:2", now=101.0, lease=30)  # not registered
    assert due(None, "a:1", now=0.0, lease=30)


def test_a_stopping_process_withdraws_its_counts_at_once(settings):
    """What the shutdown hook calls: the counts go now, not when their leases lapse."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "w"}
    }
    presence = Presence()
    presence.local.update({"hc-a": 2, "hc-b": 1})
    now = time.time()
    for room, count in presence.local.items():
        live.set_viewers(room, PROCESS, count, now, lease=30)
    live.set_viewers("hc-a", "other:1", 3, now, lease=30)
    assert (live.viewers("hc-a", now), live.viewers("hc-b", now)) == (5, 1)
    presence.withdraw()
    assert (live.viewers("hc-a", now), live.viewers("hc-b", now)) == (3, 0)
