"""The metrics' definitions: names, help, and labels that cannot grow with connections."""

import pytest

from streams import close_codes, metrics
from streams.choices import Mode, Work

# The standard collectors' families, registered beside the dashboard's own.
STANDARD = ("process_", "python_")
# Every label a dashboard metric may have: each takes a few fixed values.
BOUNDED_LABELS = {"mode", "work", "state", "outcome", "by", "code"}


def families():
    return list(metrics.REGISTRY.collect())


def test_every_metric_is_prefixed_and_explained():
    ours = [f for f in families() if not f.name.startswith(STANDARD)]
    assert len(ours) == 12
    for family in ours:
        assert family.name.startswith("dashboard_"), family.name
        assert len(family.documentation) > 20, family.name


def test_labels_are_bounded_and_never_a_room_or_a_channel():
    for family in families():
        if family.name.startswith("dashboard_"):
            names = {name for sample in family.samples for name in sample.labels} - {"le"}
            assert names <= BOUNDED_LABELS, family.name


def test_every_mode_and_work_has_its_series_from_the_start():
    [ticks] = [f for f in families() if f.name == "dashboard_ticks_sent"]
    sent = {
        (s.labels["mode"], s.labels["work"]) for s in ticks.samples if s.name.endswith("_total")
    }
    assert sent == {
        (mode.value, work.value)
        for mode in Mode
        for work in Work
        if mode is Mode.ASYNC or not work.async_only
    }
    assert ("sync", "blocking") not in sent and ("async", "offload") in sent


@pytest.mark.parametrize(
    ("code", "label"),
    [
        (1000, "1000"),
        (1001, "1001"),
        (1006, "1006"),
        (1015, "1015"),
        (close_codes.CLOSE_UNREAD, "4008"),
        (close_codes.CLOSE_TRY_AGAIN, "4503"),
        (close_codes.CLOSE_FOREIGN_ORIGIN, "4403"),
        (1016, "other"),
        (3000, "other"),
        (4999, "other"),
        (None, "other"),
        ("1000", "other"),
        (True, "other"),
    ],
)
def test_a_close_code_label_is_a_known_code_or_other(code, label):
    assert metrics.close_label(code) == label


def test_every_close_code_the_dashboard_sends_has_its_label_and_no_other_does():
    sent = {v for k, v in vars(close_codes).items() if k.startswith("CLOSE_")}
    assert all(metrics.close_label(code) == str(code) for code in sent)
    labels = {metrics.close_label(code) for code in range(65536)}
    assert labels == {str(code) for code in metrics.KNOWN_CLOSES} | {"other"}
    assert len(labels) <= 16 + len(sent) + 1


def test_a_held_stream_is_running_until_orphaned():
    assert (metrics.held_state(False), metrics.held_state(True)) == ("running", "orphaned")
    assert set(metrics.HELD_STATES) == {"running", "orphaned"}
