"""What a producer does once per tick before it sends: the work people really write.

Each work comes as twins, like the consumers: ``SyncWork`` runs in a ``SyncConsumer``'s
thread (the process's shared sync thread, under the Channels default), ``AsyncWork`` in an
``AsyncConsumer``'s event loop. A tick's work is done before the tick is due, so a stream
alone keeps time (its cost is below its interval, streams/frames.py); lateness shows only
what the work made others wait for, or what made it wait:

- ``query``: one ORM query. In async code it is Django's async ORM (``acount()``), which is
  ``sync_to_async(thread_sensitive=True)``: it runs on the shared sync thread, and queues
  behind any sync loop (under a thread per connection, on the connection's own thread).
- ``http``: a GET to the project's own slow endpoint (``/api/slow/?ms=cost``), blocking with
  ``httpx.Client``, awaited with ``httpx.AsyncClient``.
- ``cpu``: ``cost`` ms of pure-Python arithmetic: it holds the thread, and in async code the
  event loop, so every consumer of the process waits as long.
- ``blocking``: ``time.sleep(cost)`` in async code, the classic mistake: the event loop
  stops for it.
- ``offload``: the same ``time.sleep`` through ``sync_to_async(thread_sensitive=False)``: in
  an executor thread, the loop free.
"""

import time
from typing import Any

import httpx
from asgiref.sync import sync_to_async
from django.db import connections

from streams.choices import Work
from streams.models import StreamRun
from streams.stream import Stream

HTTP_TIMEOUT = 30.0  # seconds: the slow endpoint answers in at most a second


def spin(seconds: float) -> None:
    """Pure-Python arithmetic for ``seconds``: it holds the GIL and its thread throughout."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        sum(i * i for i in range(200))


def _client(slow: tuple[str, str]) -> dict[str, Any]:
    """An httpx client's settings for the slow endpoint (URL, Host header)."""
    _, host = slow
    return {"headers": {"Host": host} if host else {}, "timeout": HTTP_TIMEOUT}


class SyncWork:
    """One stream's work, in a sync consumer's thread. ``took`` is the last tick's time."""

    def __init__(self, stream: Stream, slow: tuple[str, str]) -> None:
        self.stream = stream
        self.took = 0.0
        self.client = httpx.Client(**_client(slow)) if stream.work is Work.HTTP else None
        self.url = f"{slow[0]}?ms={stream.cost}"

    def run(self) -> None:
        began = time.monotonic()
        match self.stream.work:
            case Work.QUERY:
                StreamRun.objects.filter(room=self.stream.room).count()
            case Work.HTTP:
                assert self.client is not None
                self.client.get(self.url).raise_for_status()
            case Work.CPU:
                spin(self.stream.cost / 1000)
        self.took = time.monotonic() - began

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        # The query's connection needs nothing here: the handler runs in Channels'
        # database_sync_to_async, which closes it when the handler returns.


class AsyncWork:
    """One stream's work, in an async consumer's event loop. ``took`` is the last tick's."""

    def __init__(self, stream: Stream, slow: tuple[str, str]) -> None:
        self.stream = stream
        self.took = 0.0
        self.client = httpx.AsyncClient(**_client(slow)) if stream.work is Work.HTTP else None
        self.url = f"{slow[0]}?ms={stream.cost}"

    async def run(self) -> None:
        began = time.monotonic()
        match self.stream.work:
            case Work.QUERY:
                await StreamRun.objects.filter(room=self.stream.room).acount()
            case Work.HTTP:
                assert self.client is not None
                (await self.client.get(self.url)).raise_for_status()
            case Work.CPU:
                spin(self.stream.cost / 1000)  # in the event loop: what it shows
            case Work.BLOCKING:
                time.sleep(self.stream.cost / 1000)  # noqa: ASYNC251 - the mistake it shows
            case Work.OFFLOAD:
                await sync_to_async(time.sleep, thread_sensitive=False)(self.stream.cost / 1000)
        self.took = time.monotonic() - began

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()
        if self.stream.work is Work.QUERY:
            # acount() opened a connection on the thread it ran on, the shared one or the
            # connection's own; close it there, or a thread per connection leaves one each.
            await sync_to_async(connections.close_all)()
