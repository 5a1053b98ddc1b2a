"""Settings built from the environment: databases, channel layers, caches, Sentinel."""

from pathlib import Path

import pytest

from dashboard_project import environment
from dashboard_project.environment import ConfigError


def test_no_database_url_is_sqlite_at_the_default_path():
    config = environment.database("", Path("/srv/db.sqlite3"))
    assert (config["ENGINE"], config["NAME"]) == ("django.db.backends.sqlite3", "/srv/db.sqlite3")
    assert config["OPTIONS"] == {"timeout": 20}


def test_postgres_url():
    config = environment.database(
        "postgres://runs:p%40ss@db.example:6432/dashboard?sslmode=require", Path("x")
    )
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["NAME"], config["USER"], config["PASSWORD"]) == ("dashboard", "runs", "p@ss")
    assert (config["HOST"], config["PORT"], config["OPTIONS"]) == (
        "db.example",
        "6432",
        {"sslmode": "require"},
    )
    assert config["CONN_MAX_AGE"] == 0
    assert environment.database("postgresql://localhost/runs", Path("x"))["PORT"] == ""


def test_sqlite_url():
    assert (
        environment.database("sqlite:////var/lib/runs.db", Path("x"))["NAME"] == "/var/lib/runs.db"
    )
    assert environment.database("sqlite:///runs.db", Path("x"))["NAME"] == "runs.db"
    assert environment.database("sqlite:///runs.db", Path("x"))["OPTIONS"] == {"timeout": 20}
    # A timeout in the URL wins over the default.
    assert environment.database("sqlite:///r.db?timeout=5", Path("x"))["OPTIONS"] == {"timeout": 5}


def test_a_sqlite_url_opens_in_django(tmp_path, django_db_blocker):
    """The settings dj-database-url gave are ones Django really connects with (a
    postgres:// one: tests/live/, whose servers all take DATABASE_URL)."""
    from django.db.utils import ConnectionHandler

    connections = ConnectionHandler(
        {"default": environment.database(f"sqlite:///{tmp_path}/runs.db", Path("x"))}
    )
    try:
        with django_db_blocker.unblock(), connections["default"].cursor() as cursor:
            cursor.execute("CREATE TABLE t (n integer)")
        assert (tmp_path / "runs.db").exists()
    finally:
        connections.close_all()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://localhost/runs", "scheme 'mysql' is not supported"),
        ("postgres://localhost", "names no database"),
        ("postgres://localhost/", "names no database"),
        ("sqlite://", "names no file"),
        ("sqlite:///", "names no file"),
        ("sqlite://:memory:", "names no file"),
        ("nosuchdb://localhost/runs", "scheme 'nosuchdb' is not supported"),
        ("/var/lib/runs.db", "is not a URL: use postgres://host/name"),
        ("postgres://localhost:port/runs", "check the port"),
    ],
)
def test_bad_database_urls_say_what_is_wrong(url, message):
    with pytest.raises(ConfigError, match=message):
        environment.database(url, Path("x"))


def test_bad_database_url_messages_hide_the_password():
    with pytest.raises(ConfigError, match=r"'postgres://runs:\*\*\*@db:5432/'") as caught:
        environment.database("postgres://runs:secret@db:5432/", Path("x"))
    assert "secret" not in str(caught.value)


def test_layer_without_redis_is_in_memory():
    assert environment.channel_layer("pubsub", "") == {
        "BACKEND": "channels.layers.InMemoryChannelLayer"
    }


def test_layer_choices():
    pubsub = environment.channel_layer("pubsub", "redis://r:6379/0")
    assert pubsub["BACKEND"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert pubsub["CONFIG"]["hosts"] == [{"address": "redis://r:6379/0", "socket_timeout": None}]
    core = environment.channel_layer("core", "redis://r:6379/0")
    assert core["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert core["CONFIG"]["group_expiry"] == 86400
    with pytest.raises(ConfigError, match="'rabbit' is not one of: pubsub, core"):
        environment.channel_layer("rabbit", "redis://r:6379/0")
    with pytest.raises(ConfigError, match="is not one of"):
        environment.channel_layer("rabbit", "")


def test_sentinel_settings():
    host = environment.redis_host("redis://ignored/2", "s1:26379, s2:26380", "main")
    assert host == {
        "sentinels": [("s1", 26379), ("s2", 26380)],
        "master_name": "main",
        "socket_timeout": None,
        "db": 2,
    }
    cache = environment.cache("", "s1:26379", "main")
    assert cache["LOCATION"] == "redis://main/0"
    assert cache["OPTIONS"]["pool_class"] == "dashboard_project.sentinel.SentinelPool"
    with pytest.raises(ConfigError, match="needs REDIS_SENTINEL_MASTER"):
        environment.redis_host("", "s1:26379", "")
    with pytest.raises(ConfigError, match="'s1' is not host:port"):
        environment.sentinels("s1")


def test_htmx_version_defaults_to_2_and_takes_4():
    assert environment.htmx_version("") == 2
    assert environment.htmx_version("2") == 2
    assert environment.htmx_version(" 4 ") == 4


@pytest.mark.parametrize("value", ["3", "4.0", "htmx4", "two", "-4"])
def test_htmx_version_refuses_what_django_htmx_does_not_bundle(value):
    with pytest.raises(ConfigError, match=rf"DASHBOARD_HTMX '{value}' is not one of: 2, 4"):
        environment.htmx_version(value)


def test_metrics_client_networks():
    found = environment.networks(" 127.0.0.0/8, ::1,10.1.2.3 ,,192.168.1.7/24")
    assert [str(n) for n in found] == ["127.0.0.0/8", "::1/128", "10.1.2.3/32", "192.168.1.0/24"]
    assert environment.networks("") == ()
    with pytest.raises(ConfigError, match="DASHBOARD_METRICS_CLIENTS entry 'localhost' is not"):
        environment.networks("127.0.0.1,localhost")
    with pytest.raises(ConfigError, match="'10.0.0.0/33'"):
        environment.networks("10.0.0.0/33")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, False), ("", False), (" ", False), ("1", True), ("TRUE", True), (" yes ", True),
     ("on", True), ("0", False), ("false", False), ("No", False), ("off", False)],
)  # fmt: skip
def test_flag_reads_the_usual_words(value, expected):
    assert environment.flag("DJANGO_DEBUG", value, default=False) is expected


def test_flag_unset_is_its_default():
    assert environment.flag("DJANGO_SERVE_STATIC", None, default=True) is True
    assert environment.flag("DJANGO_SERVE_STATIC", "", default=True) is True


@pytest.mark.parametrize("value", ["ture", "enabled", "2", "-"])
def test_flag_refuses_anything_else(value):
    with pytest.raises(ConfigError, match=r"DASHBOARD_LOGIN_REQUIRED is .*: use true or false"):
        environment.flag("DASHBOARD_LOGIN_REQUIRED", value, default=False)
