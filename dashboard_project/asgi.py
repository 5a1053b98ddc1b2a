"""ASGI entry point: HTTP through Django, WebSockets through the streams routes."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")
# Set up Django before importing anything that touches models or settings.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from dashboard_project import garbage  # noqa: E402
from dashboard_project.daphne_handshake import patch_autobahn  # noqa: E402
from dashboard_project.daphne_shutdown import patch_daphne  # noqa: E402
from dashboard_project.garbage import ChurnCollector  # noqa: E402
from streams.closes import CountedCloses  # noqa: E402
from streams.origins import OriginGate  # noqa: E402
from streams.presence import PRESENCE  # noqa: E402
from streams.process import SHUTDOWN  # noqa: E402
from streams.routing import NOTES, websocket_urlpatterns  # noqa: E402

http_app = ASGIStaticFilesHandler(django_asgi_app) if settings.SERVE_STATIC else django_asgi_app

# So that SIGTERM lets running streams end, tell their rooms and record their runs.
patch_daphne(SHUTDOWN.set, PRESENCE.withdraw)
patch_autobahn()  # a handshake a quarter cheaper: daphne_handshake.py

router = ProtocolTypeRouter(
    {
        "http": http_app,
        # No AuthMiddlewareStack: it looks the user up on the shared sync thread, so no
        # viewer could connect while a sync stream loops. The routes' own LoginGate looks it
        # up off that thread (streams/logins.py). OriginGate, not Channels'
        # OriginValidator: a page can tell its refusal from a lost connection. Every close,
        # the gates' too, is counted for /metrics (streams/closes.py).
        "websocket": CountedCloses(
            OriginGate(URLRouter(websocket_urlpatterns), open_to_tools=NOTES)
        ),
    }
)
# Full garbage collections after connections end, not by allocation counts: garbage.py.
application = ChurnCollector(router)
garbage.tune()
