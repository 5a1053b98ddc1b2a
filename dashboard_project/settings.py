"""Settings, driven by environment variables with embedded defaults.

With nothing set, the dashboard runs in one process on the in-memory channel layer,
local-memory cache and SQLite. Setting ``REDIS_URL`` (or ``REDIS_SENTINELS``) switches the
channel layer and the cache to Redis, so several server processes share rooms;
``DATABASE_URL`` puts the run history in PostgreSQL. README.md lists every variable.
"""

import os
from pathlib import Path

from dashboard_project import environment

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    return environment.flag(name, os.environ.get(name), default)


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value is None or not value.strip() else int(value)


# A fixed default keeps `make run` a one-command start; set DJANGO_SECRET_KEY anywhere real.
SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "insecure-dev-key-set-DJANGO_SECRET_KEY-in-production"
)
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
# Pages that may open WebSockets: by default only the dashboard's own host (and port), which
# must be in ALLOWED_HOSTS; or exactly these origins, e.g. "https://dash.example.org".
DASHBOARD_ALLOWED_ORIGINS = [
    origin.strip()
    for origin in os.environ.get("DASHBOARD_ALLOWED_ORIGINS", "").split(",")
    if origin.strip()
]

# Opt in: every page needs a logged-in Django user, and every WebSocket that user's session
# (streams/logins.py, looked up off the shared sync thread); others are closed with 4401.
DASHBOARD_LOGIN_REQUIRED = env_bool("DASHBOARD_LOGIN_REQUIRED", False)

INSTALLED_APPS = [
    # daphne first, so `runserver` is Daphne's ASGI server:
    # https://channels.readthedocs.io/en/latest/tutorial/part_1.html
    "daphne",
    # Users, their sessions and the admin, for DASHBOARD_LOGIN_REQUIRED (installed either way,
    # so switching it on needs no migration).
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "channels",
    "streams",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
if DASHBOARD_LOGIN_REQUIRED:
    # Every view needs a login but those marked @login_not_required (the login page, the
    # slow endpoint): https://docs.djangoproject.com/en/stable/ref/middleware/ (auth section)
    MIDDLEWARE.append("django.contrib.auth.middleware.LoginRequiredMiddleware")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "lobby"
LOGOUT_REDIRECT_URL = "login"
# The login form's POST passes Django's CSRF origin check from the origins WebSockets are
# accepted from: behind a proxy that ends TLS, the browser's https Origin is one of them.
CSRF_TRUSTED_ORIGINS = DASHBOARD_ALLOWED_ORIGINS

ROOT_URLCONF = "dashboard_project.urls"
ASGI_APPLICATION = "dashboard_project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                # The admin's, for the admin's own pages.
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": environment.database(
        os.environ.get("DATABASE_URL", ""),
        sqlite_default=Path(os.environ.get("DJANGO_DB_PATH", BASE_DIR / "db.sqlite3")),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Tests write from several threads too; a file waits for locks where SQLite's
    # shared-cache in-memory database fails with "database table is locked".
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".test-db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
REDIS_SENTINELS = os.environ.get("REDIS_SENTINELS", "")
REDIS_SENTINEL_MASTER = os.environ.get("REDIS_SENTINEL_MASTER", "")
CHANNEL_LAYER = os.environ.get("CHANNEL_LAYER", environment.DEFAULT_LAYER)

CHANNEL_LAYERS = {
    "default": environment.channel_layer(
        CHANNEL_LAYER, REDIS_URL, REDIS_SENTINELS, REDIS_SENTINEL_MASTER
    )
}
CACHES = {"default": environment.cache(REDIS_URL, REDIS_SENTINELS, REDIS_SENTINEL_MASTER)}

# Limits that turn overload into a clear refusal instead of a hang.
DASHBOARD_MAX_STREAMS_PER_ROOM = env_int("DASHBOARD_MAX_STREAMS_PER_ROOM", 32)
DASHBOARD_MAX_STREAMS_PER_PROCESS = env_int("DASHBOARD_MAX_STREAMS_PER_PROCESS", 64)
DASHBOARD_MAX_VIEWERS_PER_PROCESS = env_int("DASHBOARD_MAX_VIEWERS_PER_PROCESS", 5000)
# Streams of a room that hold the event loop (cpu or blocking work in async) at once: each
# freezes every page of its process for its cost, every tick (streams/workloads.py).
DASHBOARD_MAX_FREEZING_PER_ROOM = env_int("DASHBOARD_MAX_FREEZING_PER_ROOM", 2)
DASHBOARD_CHAT_PER_MINUTE = env_int("DASHBOARD_CHAT_PER_MINUTE", 20)
# A viewer whose page has left this many characters unread is closed (code 4008), before
# the server's buffers for it grow without bound: pages ack every 256 KiB they read.
DASHBOARD_MAX_UNREAD_CHARS = env_int("DASHBOARD_MAX_UNREAD_CHARS", 4 * 1024 * 1024)
# Seconds a process counts as alive, and its count of a room's viewers holds, unless renewed
# (every third of it): how long the viewers and streams of a process that died still count
# (streams/headcount.py, streams/sweeping.py).
DASHBOARD_PRESENCE_LEASE = float(os.environ.get("DASHBOARD_PRESENCE_LEASE") or 30)
# Seconds between a run's end and its history row: time for every viewer to report what
# reached it (streams/settling.py).
DASHBOARD_DELIVERY_SETTLE = 1.0
# Milliseconds within which a process's viewers get a room's events as one frame
# (streams/fanout.py): fewer frames for the server to write, that much later; 0 = off.
DASHBOARD_FLUSH_MS = env_int("DASHBOARD_FLUSH_MS", 20)
# GET /metrics for Prometheus (streams/metrics.py): this process's figures, answered to the
# clients in DASHBOARD_METRICS_CLIENTS only, with a Host in ALLOWED_HOSTS like every page.
# Off: a 404 (docs/operations.md, "Metrics").
DASHBOARD_METRICS = env_bool("DASHBOARD_METRICS", True)
DASHBOARD_METRICS_CLIENTS = environment.networks(
    os.environ.get("DASHBOARD_METRICS_CLIENTS") or "127.0.0.0/8,::1"
)
# Where http work sends its GETs (streams/workloads.py): by default the slow endpoint on the
# server the producer connected to; set it for a producer with no server (manage.py stream).
DASHBOARD_SLOW_URL = os.environ.get("DASHBOARD_SLOW_URL", "")

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Where `manage.py collectstatic` writes, for a web server in front to serve
# (docs/operations.md, "Behind nginx").
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles")
# Daphne serves /static/ itself (asgi.py) so `make run` needs no second server; turn it
# off when a web server or CDN in front serves STATIC_ROOT.
SERVE_STATIC = env_bool("DJANGO_SERVE_STATIC", True)
# The htmx the page loads, both from django-htmx's wheel: 2, or 4 (a beta, opt in), whose ws
# extension has other attributes, messages and reconnect rules (README, "htmx 4").
DASHBOARD_HTMX = environment.htmx_version(os.environ.get("DASHBOARD_HTMX", ""))

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redis_down_one_line": {"()": "dashboard_project.logfilters.RedisDownOneLine"},
        "refused_host_one_line": {"()": "dashboard_project.logfilters.RefusedHostOneLine"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        "channels_redis.pubsub": {"filters": ["redis_down_one_line"]},
        "django.security.DisallowedHost": {"filters": ["refused_host_one_line"]},
    },
}
