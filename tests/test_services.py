"""Settings built from the environment: databases, channel layers, caches, Sentinel."""

import asyncio
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from channels.layers import channel_layers
from django.core.cache import caches

from dashboard_project import services
from dashboard_project.services import ConfigError
from tests.server import free_port, listening, redis_server, redis_server_binary


def test_no_database_url_is_sqlite_at_the_default_path():
    config = services.database("", Path("/srv/db.sqlite3"))
    assert (config["ENGINE"], config["NAME"]) == ("django.db.backends.sqlite3", "/srv/db.sqlite3")


def test_postgres_url():
    config = services.database(
        "postgres://runs:p%40ss@db.example:6432/dashboard?sslmode=require", Path("x")
    )
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["NAME"], config["USER"], config["PASSWORD"]) == ("dashboard", "runs", "p@ss")
    assert (config["HOST"], config["PORT"], config["OPTIONS"]) == (
        "db.example",
        "6432",
        {"sslmode": "require"},
    )
    assert services.database("postgresql://localhost/runs", Path("x"))["PORT"] == ""


def test_sqlite_url():
    assert services.database("sqlite:////var/lib/runs.db", Path("x"))["NAME"] == "/var/lib/runs.db"
    assert services.database("sqlite:///runs.db", Path("x"))["NAME"] == "runs.db"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://localhost/runs", "scheme 'mysql' is not supported"),
        ("postgres://localhost", "names no database"),
        ("postgres://localhost/", "names no database"),
        ("sqlite://", "names no file"),
    ],
)
def test_bad_database_urls_say_what_is_wrong(url, message):
    with pytest.raises(ConfigError, match=message):
        services.database(url, Path("x"))


def test_layer_without_redis_is_in_memory():
    assert services.channel_layer("pubsub", "") == {
        "BACKEND": "channels.layers.InMemoryChannelLayer"
    }


def test_layer_choices():
    pubsub = services.channel_layer("pubsub", "redis://r:6379/0")
    assert pubsub["BACKEND"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert pubsub["CONFIG"]["hosts"] == [{"address": "redis://r:6379/0", "socket_timeout": None}]
    core = services.channel_layer("core", "redis://r:6379/0")
    assert core["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert core["CONFIG"]["group_expiry"] == 86400
    with pytest.raises(ConfigError, match="'rabbit' is not one of: pubsub, core"):
        services.channel_layer("rabbit", "redis://r:6379/0")
    with pytest.raises(ConfigError, match="is not one of"):
        services.channel_layer("rabbit", "")


def test_sentinel_settings():
    host = services.redis_host("redis://ignored/2", "s1:26379, s2:26380", "main")
    assert host == {
        "sentinels": [("s1", 26379), ("s2", 26380)],
        "master_name": "main",
        "socket_timeout": None,
        "db": 2,
    }
    cache = services.cache("", "s1:26379", "main")
    assert cache["LOCATION"] == "redis://main/0"
    assert cache["OPTIONS"]["pool_class"] == "dashboard_project.sentinel.SentinelPool"
    with pytest.raises(ConfigError, match="needs REDIS_SENTINEL_MASTER"):
        services.redis_host("", "s1:26379", "")
    with pytest.raises(ConfigError, match="'s1' is not host:port"):
        services.sentinels("s1")


def test_layer_and_cache_work_through_a_real_sentinel(settings):
    """A throwaway Redis and a Sentinel watching it: the layer delivers a group message and
    the cache stores a value, both finding the master through the sentinel."""
    binary = redis_server_binary()
    with redis_server(binary) as url, tempfile.TemporaryDirectory() as workdir:
        master_port = int(url.rsplit(":", 1)[1].split("/")[0])
        port = free_port()
        conf = Path(workdir) / "sentinel.conf"
        conf.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {workdir}\n"
            f"sentinel monitor main 127.0.0.1 {master_port} 1\n"
        )
        argv = [binary, str(conf), "--sentinel"]
        with listening(argv, port, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
            sentinel = f"127.0.0.1:{port}"
            settings.CHANNEL_LAYERS = {
                "default": services.channel_layer("pubsub", "", sentinel, "main")
            }
            settings.CACHES = {"default": services.cache("", sentinel, "main")}
            channel_layers.backends.clear()
            try:
                caches["default"].set("sentinel-check", "found the master")
                assert caches["default"].get("sentinel-check") == "found the master"
                assert asyncio.run(_group_round_trip()) == {"type": "hello", "n": 1}
            finally:  # no Sentinel-backed layer may outlive this test
                channel_layers.backends.clear()


async def _group_round_trip() -> dict[str, object]:
    layer = channel_layers["default"]
    channel = await layer.new_channel()
    group = f"sentinel-{uuid.uuid4().hex[:8]}"
    await layer.group_add(group, channel)
    await layer.group_send(group, {"type": "hello", "n": 1})
    try:
        return await asyncio.wait_for(layer.receive(channel), 5)
    finally:
        await layer.group_discard(group, channel)
        await layer.flush()  # unsubscribes and closes its connections
