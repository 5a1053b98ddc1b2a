"""Let Daphne's graceful shutdown wait for the applications, as it means to.

On SIGTERM, Daphne cancels every application instance and waits for them all
(``Server.kill_all_applications``), so a consumer can end what it was doing: an async stream
tells its room and writes its run's row. But Daphne 4.2 reads ``details["application_instance"]``
for every connection it tracks, and some have none: a keep-alive HTTP connection between
requests, or a request upgraded to a WebSocket in the second before Daphne's reaper drops its
entry. One of those, and the KeyError ends the shutdown hook: nothing is cancelled, nothing
is waited for, and the process exits mid-stream. With any page loaded lately, that is most
shutdowns. This drops those entries first (they have no application to wait for).
"""

import sys
from typing import Any


def patch_daphne() -> None:
    """Patch Daphne's server class, if this process is a Daphne (uvicorn needs nothing)."""
    server_module = sys.modules.get("daphne.server")
    if server_module is None:
        return
    server_class = server_module.Server
    original = server_class.kill_all_applications
    if getattr(original, "skips_idle_connections", False):
        return

    def kill_all_applications(self: Any) -> Any:
        for protocol, details in list(self.connections.items()):
            if "application_instance" not in details:
                del self.connections[protocol]
        return original(self)

    kill_all_applications.skips_idle_connections = True  # type: ignore[attr-defined]
    server_class.kill_all_applications = kill_all_applications
