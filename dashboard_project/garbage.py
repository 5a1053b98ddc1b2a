"""The garbage collector, tuned for a server that holds thousands of sockets.

A full collection walks every live object: with 2,000 viewers connected it held the event
loop for up to 190 ms, several times a minute, and every viewer's tick waited for it
(docs/benchmarks.md). So ``tune`` freezes what startup built out of collections
(https://docs.python.org/3/library/gc.html#gc.freeze) and runs full collections a hundred
times less often than the default (700, 10, 10): steady fan-out makes little cyclic garbage.

Connections do: every one that ends leaves cycles behind (Twisted's channel and protocol,
the consumer and its tasks), about 20 KB each, which only a full collection frees. With the
thresholds above that came after tens of thousands of connections: 1,000 viewers coming and
going grew Daphne by 20 MiB, 6,000 by 119 MiB, and none of it came back. ``ChurnCollector``
runs a full collection after connections have ended instead: once the process has been
quiet for a moment, or every ``EVERY`` connections while they keep coming, at most once per
``GAP`` seconds.
"""

import asyncio
import gc
import time

from asgiref.typing import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope

EVERY = 250  # connections ended between two collections while churn goes on
QUIET = 2.0  # seconds without a connection ending: collect what the last ones left
GAP = 2.0  # seconds at least between two collections under churn


def tune() -> None:
    gc.freeze()
    gc.set_threshold(700, 10, 1000)


class ChurnCollector:
    """ASGI middleware around the whole application: counts connections (HTTP requests
    and WebSockets) as they end, and collects their garbage as above."""

    def __init__(self, app: ASGI3Application) -> None:
        self.app = app
        self.ended = 0  # since the last collection
        self.last = time.monotonic()
        self.quiet: asyncio.TimerHandle | None = None

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            self.connection_ended()

    def connection_ended(self) -> None:
        self.ended += 1
        loop = asyncio.get_running_loop()
        if self.quiet is not None:
            self.quiet.cancel()
        if self.ended >= EVERY and time.monotonic() - self.last >= GAP:
            self.quiet = None
            loop.call_soon(self.collect)
        else:
            self.quiet = loop.call_later(QUIET, self.collect)

    def collect(self) -> None:
        self.quiet = None
        self.ended = 0
        self.last = time.monotonic()
        gc.collect()
