"""Settings, driven by environment variables with embedded defaults.

With nothing set, the dashboard runs in one process on the in-memory channel layer,
local-memory cache and SQLite. Setting ``REDIS_URL`` switches the channel layer and the
cache to Redis, so several server processes share rooms.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value is None or not value.strip() else int(value)


# A fixed default keeps `make run` a one-command start; set DJANGO_SECRET_KEY anywhere real.
SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "insecure-dev-key-set-DJANGO_SECRET_KEY-in-production"
)
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

INSTALLED_APPS = [
    # daphne first, so `runserver` is Daphne's ASGI server:
    # https://channels.readthedocs.io/en/latest/tutorial/part_1.html
    "daphne",
    "django.contrib.staticfiles",
    "django_htmx",
    "channels",
    "streams",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "dashboard_project.urls"
ASGI_APPLICATION = "dashboard_project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_DB_PATH", str(BASE_DIR / "db.sqlite3")),
        # Producers in "a thread per connection" mode write finished runs from several
        # threads at once; wait for SQLite's write lock instead of failing.
        "OPTIONS": {"timeout": 20},
        # Tests write from several threads too; a file waits for locks where SQLite's
        # shared-cache in-memory database fails with "database table is locked".
        "TEST": {"NAME": str(BASE_DIR / ".test-db.sqlite3")},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # The pub/sub layer delivered every group tick under connection churn where the
            # core layer lost 2-4 % and kept ghost members (docs/architecture.md).
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                # redis-py 8 defaults socket_timeout to 5 s, which breaks channels_redis'
                # blocking reads: https://github.com/django/channels_redis/issues/422
                "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "dashboard",
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Limits that turn overload into a clear refusal instead of a hang.
DASHBOARD_MAX_STREAMS_PER_ROOM = env_int("DASHBOARD_MAX_STREAMS_PER_ROOM", 32)
DASHBOARD_MAX_STREAMS_PER_PROCESS = env_int("DASHBOARD_MAX_STREAMS_PER_PROCESS", 64)

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Daphne serves /static/ itself (asgi.py) so `make run` needs no second server; turn it
# off when a web server or CDN in front serves STATIC_ROOT.
SERVE_STATIC = env_bool("DJANGO_SERVE_STATIC", True)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
}
