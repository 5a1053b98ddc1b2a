"""Daphne's WebSocket handshake without a debug line that nobody reads.

Autobahn (Daphne's WebSocket layer) logs every new connection's whole configuration at
debug level, and builds that line with ``pprint.pformat`` before the logger decides to drop
it (``WebSocketProtocol._connectionMade``). Measured with py-spy during 1,000 viewers
connecting at once, that was 9 % of the server's CPU; a bare ASGI app under Daphne went from
a p99 of 1.66-1.69 s to their first frame to 1.17-1.30 s without it (docs/benchmarks.md).
Here the line's argument is formatted only if a debug log does print it.
"""

import pprint
import sys
from typing import Any


class _Deferred:
    """``pformat(value)``, done when the log line is formatted, if ever."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __format__(self, spec: str) -> str:
        return format(pprint.pformat(self.value), spec)

    def __str__(self) -> str:
        return pprint.pformat(self.value)


def patch_autobahn() -> None:
    """If this process is a Daphne: autobahn's per-connection debug line, made lazy."""
    if "daphne.server" not in sys.modules:
        return
    import autobahn.websocket.protocol as protocol

    # Every other use of pformat there is a debug line too, but for Timings.__str__.
    protocol.Timings.__str__ = lambda self: pprint.pformat(self._timings)  # type: ignore[method-assign]
    protocol.pformat = _Deferred  # type: ignore[assignment]
