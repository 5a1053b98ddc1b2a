"""``manage.py stream``: refusals that say why, before anything runs."""

import pytest
from django.core.management import CommandError, call_command


def test_the_in_memory_layer_is_refused_with_the_reason(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    with pytest.raises(CommandError) as refused:
        call_command("stream", "--room", "lobby", "--count", "3", "--interval", "0.1")
    message = str(refused.value)
    assert "in memory: it lives inside one process" in message
    assert "REDIS_URL" in message and "--url" in message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--count", "0"], "Ticks must be between 1 and 10000"),
        (["--interval", "nan"], "Interval must be a finite number"),
        (["--room", "no room"], "Room names are"),
    ],
)
def test_bad_values_are_refused_before_anything_runs(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("stream", *args)
