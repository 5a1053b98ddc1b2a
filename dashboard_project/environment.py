"""Database, channel layer and cache settings built from environment values, and the
networks that may scrape ``/metrics``.

Pure functions of strings, so every combination is unit-tested without a server:
``settings.py`` passes ``os.environ`` values in and assigns what comes back.
"""

import ipaddress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url

LAYERS = ("pubsub", "core")
DEFAULT_LAYER = "pubsub"  # why: docs/operations.md, "Choosing the channel layer"
SQLITE = "django.db.backends.sqlite3"
POSTGRES = "django.db.backends.postgresql"  # psycopg 3 is in requirements.txt; no other driver
HTMX_VERSIONS = (2, 4)  # what django-htmx's wheel bundles, each with its own ws extension


class ConfigError(ValueError):
    """A setting from the environment that cannot work; the message says how to fix it."""


TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})


def flag(name: str, value: str | None, default: bool) -> bool:
    """An on/off variable: ``default`` when unset or empty. Anything but the usual words is
    refused rather than read as off: ``DASHBOARD_LOGIN_REQUIRED=ture`` must not open the
    dashboard to everyone."""
    if value is None or not value.strip():
        return default
    word = value.strip().lower()
    if word not in TRUE | FALSE:
        raise ConfigError(f"{name} is {value!r}: use true or false (or 1/0, yes/no, on/off)")
    return word in TRUE


def database(url: str, sqlite_default: Path) -> dict[str, Any]:
    """Django's ``DATABASES["default"]`` for ``DATABASE_URL`` (``postgres://`` or
    ``sqlite:///``), parsed by dj-database-url; SQLite at ``sqlite_default`` when ``url`` is
    empty."""
    if not url:
        config: dict[str, Any] = {"ENGINE": SQLITE, "NAME": str(sqlite_default)}
    else:
        config = _parse_database_url(url)
    if config["ENGINE"] == SQLITE:
        # Producers in "a thread per connection" mode write finished runs from several
        # threads at once; wait for SQLite's write lock instead of failing.
        config["OPTIONS"] = {"timeout": 20, **config.get("OPTIONS", {})}
    return config


def _parse_database_url(url: str) -> dict[str, Any]:
    shown = _without_password(url)
    try:
        # Producers write runs from many threads; one connection per thread is plenty.
        config = dict(dj_database_url.parse(url, conn_max_age=0))
    except dj_database_url.UnknownSchemeError as error:
        if not error.scheme:
            raise ConfigError(
                f"DATABASE_URL {shown!r} is not a URL: use postgres://host/name "
                "or sqlite:////abs/path.db"
            ) from None
        raise _unsupported(error.scheme) from None
    except ValueError:  # dj_database_url.ParseError, or what urlsplit raises itself
        raise ConfigError(
            f"DATABASE_URL {shown!r} is not a URL dj-database-url can read: check the port, "
            "and %-encode special characters in the user and password (@ is %40)"
        ) from None
    if config["ENGINE"] not in {SQLITE, POSTGRES}:
        raise _unsupported(url.partition(":")[0])
    if config["ENGINE"] == SQLITE and config["NAME"] in {"", ":memory:"}:
        # dj-database-url reads sqlite:// as an in-memory database: one per connection,
        # so each producer thread would write its runs into a database of its own.
        raise ConfigError(f"DATABASE_URL {shown!r} names no file: use sqlite:////abs/path.db")
    if config["ENGINE"] == POSTGRES and not config["NAME"]:
        raise ConfigError(f"DATABASE_URL {shown!r} names no database: postgres://host/name")
    config["PORT"] = str(config["PORT"])
    return config


def _unsupported(scheme: str) -> ConfigError:
    return ConfigError(
        f"DATABASE_URL scheme {scheme!r} is not supported: use postgres:// or sqlite:///"
    )


def _without_password(url: str) -> str:
    """``url`` fit for an error message: its password, if any, replaced by ``***``."""
    scheme, found, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not found or not at or ":" not in userinfo:
        return url
    user = userinfo.partition(":")[0]
    return f"{scheme}://{user}:***@{host}"


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


def htmx_version(value: str) -> int:
    """The htmx the page loads from django-htmx's wheel (``DASHBOARD_HTMX``): 2 when unset,
    or 4 (beta, opt in)."""
    if not value.strip():
        return HTMX_VERSIONS[0]
    if value.strip() not in {str(v) for v in HTMX_VERSIONS}:
        raise ConfigError(
            f"DASHBOARD_HTMX {value!r} is not one of: {', '.join(map(str, HTMX_VERSIONS))} "
            "(the htmx versions django-htmx bundles; 4 is a beta)"
        )
    return int(value)


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


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(value: str, name: str = "DASHBOARD_METRICS_CLIENTS") -> tuple[Network, ...]:
    """``"127.0.0.0/8,::1"`` as networks; a bare address is a network of one."""
    found = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        try:
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(
                f"{name} entry {item!r} is not an address or a network (10.0.0.0/8, ::1)"
            ) from None
    return tuple(found)
