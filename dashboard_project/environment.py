"""Database, channel layer and cache settings built from environment values.

Pure functions of strings, so every combination is unit-tested without a server:
``settings.py`` passes ``os.environ`` values in and assigns what comes back.
"""

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

LAYERS = ("pubsub", "core")
DEFAULT_LAYER = "pubsub"  # why: docs/operations.md, "Choosing the channel layer"


class ConfigError(ValueError):
    """A setting from the environment that cannot work; the message says how to fix it."""


def database(url: str, sqlite_default: Path) -> dict[str, Any]:
    """Django's ``DATABASES["default"]`` for ``DATABASE_URL`` (``postgres://`` or
    ``sqlite:///``); SQLite at ``sqlite_default`` when ``url`` is empty."""
    if not url:
        return _sqlite(str(sqlite_default))
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:////abs/path.db is /abs/path.db; sqlite:///path.db is path.db, relative.
        path = unquote(parts.path).removeprefix("/")
        if not path:
            raise ConfigError(f"DATABASE_URL {url!r} names no file: use sqlite:////abs/path.db")
        return _sqlite(path)
    if parts.scheme in {"postgres", "postgresql"}:
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise ConfigError(f"DATABASE_URL {url!r} names no database: postgres://host/name")
        options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "OPTIONS": options,
            # Producers write runs from many threads; one connection per thread is plenty.
            "CONN_MAX_AGE": 0,
        }
    raise ConfigError(
        f"DATABASE_URL scheme {parts.scheme!r} is not supported: use postgres:// or sqlite:///"
    )


def _sqlite(path: str) -> dict[str, Any]:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        # Producers in "a thread per connection" mode write finished runs from several
        # threads at once; wait for SQLite's write lock instead of failing.
        "OPTIONS": {"timeout": 20},
    }


def sentinels(value: str) -> list[tuple[str, int]]:
    """``"host:26379,host2:26379"`` as (host, port) pairs."""
    found = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"REDIS_SENTINELS entry {item!r} is not host:port")
        found.append((host, int(port)))
    return found


def redis_host(url: str, sentinel_list: str, master: str) -> dict[str, Any]:
    """One channels_redis host: a Redis URL, or a master found through Sentinel."""
    # redis-py 8 defaults socket_timeout to 5 s, which breaks channels_redis' blocking
    # reads: https://github.com/django/channels_redis/issues/422
    if sentinel_list:
        if not master:
            raise ConfigError("REDIS_SENTINELS needs REDIS_SENTINEL_MASTER, the master's name")
        return {
            "sentinels": sentinels(sentinel_list),
            "master_name": master,
            "socket_timeout": None,
            "db": _db_of(url),
        }
    return {"address": url, "socket_timeout": None}


def _db_of(url: str) -> int:
    path = urlsplit(url).path.strip("/") if url else ""
    return int(path) if path.isdigit() else 0


def channel_layer(
    layer: str, url: str, sentinel_list: str = "", master: str = ""
) -> dict[str, Any]:
    """``CHANNEL_LAYERS["default"]``: in memory without Redis, else ``layer`` on Redis."""
    if layer not in LAYERS:
        raise ConfigError(f"CHANNEL_LAYER {layer!r} is not one of: {', '.join(LAYERS)}")
    if not url and not sentinel_list:
        return {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    host = redis_host(url, sentinel_list, master)
    if layer == "pubsub":
        return {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [host]},
        }
    return {  # "core"
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # Group membership expires after a day: the longest a viewer's socket may live.
        "CONFIG": {"hosts": [host], "group_expiry": 86400},
    }


def cache(url: str, sentinel_list: str = "", master: str = "") -> dict[str, Any]:
    """``CACHES["default"]``: local memory without Redis, else Redis (through Sentinel
    when ``sentinel_list`` is set)."""
    if not url and not sentinel_list:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    config: dict[str, Any] = {
        # Django's RedisCache, with one client per process: dashboard_project/redis_cache.py
        "BACKEND": "dashboard_project.redis_cache.ProcessRedisCache",
        "KEY_PREFIX": "dashboard",
    }
    if sentinel_list:
        config["LOCATION"] = f"redis://{master}/{_db_of(url)}"  # the pool resolves the master
        config["OPTIONS"] = {
            "pool_class": "dashboard_project.sentinel.SentinelPool",
            "sentinels": sentinels(sentinel_list),
        }
    else:
        config["LOCATION"] = url
    return config
