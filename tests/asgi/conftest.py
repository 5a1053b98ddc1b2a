"""The layers every in-process consumer test runs on: the in-memory layer, and a real Redis
with the pub/sub and the core layer; and the communicators a test left open, closed."""

import uuid
from typing import Any

import pytest

from dashboard_project import environment
from tests.asgi.wsclient import close_what_is_left


def redis_settings(url: str, layer: str = environment.DEFAULT_LAYER) -> dict[str, object]:
    """The settings dashboard_project/settings.py builds for ``REDIS_URL`` and
    ``CHANNEL_LAYER``, with a cache key prefix of this test's own."""
    cache = environment.cache(url) | {"KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}"}
    return {
        "CHANNEL_LAYERS": {"default": environment.channel_layer(layer, url)},
        "CACHES": {"default": cache},
    }


@pytest.fixture
async def connections_closed():
    """Every communicator a test left open is disconnected, so its consumer cleans up."""
    yield
    await close_what_is_left()


@pytest.fixture(params=["memory", "redis", "redis-core"])
def layer(request: pytest.FixtureRequest, settings: Any) -> str:
    """Run a test on the in-memory layer and cache, then on a real Redis with the
    pub/sub layer (the default) and with the core layer."""
    # Viewers report delivery at once in these tests; no need to wait a second for a row.
    settings.DASHBOARD_DELIVERY_SETTLE = 0.05
    if request.param.startswith("redis"):
        kind = "core" if request.param == "redis-core" else "pubsub"
        for name, value in redis_settings(request.getfixturevalue("redis_url"), kind).items():
            setattr(settings, name, value)
    else:
        # Explicit, so that a REDIS_URL in the environment does not leak into this run.
        settings.CHANNEL_LAYERS = {"default": environment.channel_layer("pubsub", "")}
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": uuid.uuid4().hex,
            }
        }
    return request.param
