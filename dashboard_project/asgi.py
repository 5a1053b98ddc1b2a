"""ASGI entry point: HTTP through Django, WebSockets through the streams routes."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")
# Set up Django before importing anything that touches models or settings.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from dashboard_project.daphne_shutdown import patch_daphne  # noqa: E402
from streams.origins import OriginGate  # noqa: E402
from streams.presence import PRESENCE  # noqa: E402
from streams.process import SHUTDOWN  # noqa: E402
from streams.routing import websocket_urlpatterns  # noqa: E402

http_app = ASGIStaticFilesHandler(django_asgi_app) if settings.SERVE_STATIC else django_asgi_app

# So that SIGTERM lets running streams end, tell their rooms and record their runs.
patch_daphne(SHUTDOWN.set, PRESENCE.withdraw)

application = ProtocolTypeRouter(
    {
        "http": http_app,
        # No AuthMiddlewareStack: it looks the user up on the shared sync thread, and the
        # dashboard has no users. See streams/viewer.py. OriginGate, not Channels'
        # OriginValidator: a page can tell its refusal from a lost connection.
        "websocket": OriginGate(URLRouter(websocket_urlpatterns)),
    }
)

# A full garbage collection walks every live object: with 2,000 viewers connected it held
# the event loop for up to 190 ms, several times a minute, and every viewer's tick waited for
# it (docs/benchmarks.md). What startup built lives as long as the process: freeze it out of
# collections (https://docs.python.org/3/library/gc.html#gc.freeze), and run a full
# collection a hundred times less often than the default (700, 10, 10). Each one measured
# found at most about 3,000 objects of cyclic garbage: little to hold on to for longer.
gc.freeze()
gc.set_threshold(700, 10, 1000)
