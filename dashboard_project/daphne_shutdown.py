"""Let Daphne's graceful shutdown wait for the applications, as it means to.

On SIGTERM, Daphne cancels every application instance and means to wait for them all
(``Server.kill_all_applications``), so that a consumer can end what it was doing: a stream
tells its room it stopped and writes its run's row. Daphne 4.2.3's version waits for none:

- it reads ``details["application_instance"]`` for every connection it tracks, and some have
  none (a keep-alive HTTP connection between requests, a request upgraded to a WebSocket in
  the second before Daphne's reaper drops its entry): the KeyError ends the hook, nothing is
  cancelled, and with any page loaded lately that is most shutdowns;
- it waits with ``asyncio.gather``, which returns as soon as the first instance ends
  cancelled, the usual way for all of them to end.

This version skips connections without an application and waits for every instance,
however each ends, for at most ``GRACE`` seconds. It calls each of ``on_stop`` first, for what
no cancellation reaches (a sync stream's loop, in its thread) and what no timer will do once
the loop stops (this process's viewer counts).
"""

import asyncio
import logging
import sys
from collections.abc import Callable
from typing import Any

from streams.frames import INTERVAL_RANGE

# Seconds: a sync loop sees the stop after its current sleep, one interval (at most 60 s),
# then tells its room and writes its row.
GRACE = INTERVAL_RANGE[1] + 15

log = logging.getLogger(__name__)


def patch_daphne(*on_stop: Callable[[], None]) -> None:
    """Patch Daphne's server class, if this process is a Daphne (uvicorn needs nothing)."""
    server_module = sys.modules.get("daphne.server")
    if server_module is None:
        return
    server_class = server_module.Server
    if getattr(server_class.kill_all_applications, "waits_for_all", False):
        return
    from twisted.internet import defer

    def kill_all_applications(self: Any) -> Any:
        for call in on_stop:
            call()
        running = [
            instance
            for details in self.connections.values()
            if (instance := details.get("application_instance")) is not None and not instance.done()
        ]
        for instance in running:
            instance.cancel()
        log.info("Stopping %d application instances", len(running))
        if not running:
            return None
        return defer.Deferred.fromFuture(
            asyncio.ensure_future(asyncio.wait(running, timeout=GRACE))
        )

    kill_all_applications.waits_for_all = True  # type: ignore[attr-defined]
    server_class.kill_all_applications = kill_all_applications
