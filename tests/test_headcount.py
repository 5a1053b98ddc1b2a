from streams.headcount import live_processes, renewed, total


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
