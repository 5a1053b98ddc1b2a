"""The project's settings, with the one thing the benchmark needs that they do not offer:
the core channels_redis layer (``BENCH_CHANNEL_LAYER=redis``), measured beside the pub/sub
layer that ``REDIS_URL`` selects."""

import os

from dashboard_project.settings import *  # noqa: F403
from dashboard_project.settings import REDIS_URL

if os.environ.get("BENCH_CHANNEL_LAYER") == "redis":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": None}]},
        }
    }
