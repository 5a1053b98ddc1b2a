"""This server process: its name, whether it is stopping, and running work off its shared
sync thread.

Every default consumer message of a process waits for its one shared sync thread
(streams/producers.py), so bookkeeping that must not queue behind a sync stream's loop runs
in the default executor instead, through ``off_thread``. Executor threads are pooled and
live on: ``closing_connections`` closes the database connections their work opened.
"""

import os
import socket
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connections

# Per process: with Redis, a room spans processes, and each has its own gauges and viewers.
PROCESS = f"{socket.gethostname()}:{os.getpid()}"

# Set once this server process is shutting down (dashboard_project/daphne_shutdown.py): a sync
# loop, which no cancellation reaches, ends at its next tick.
SHUTDOWN = threading.Event()


def off_thread[**P, R](func: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """An async version of ``func`` that runs in the default executor, never on the
    shared sync thread."""
    return sync_to_async(func, thread_sensitive=False)


def closing_connections[**P, R](func: Callable[P, R]) -> Callable[P, R]:
    """``func`` run in an executor thread, which then closes its database connections:
    the thread is pooled, and nothing else would close them."""

    def closing(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        finally:
            connections.close_all()

    return closing
