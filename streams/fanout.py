"""One channel-layer group member per process, fanning each event out to local consumers.

Channels makes every consumer its own layer channel and group member, so one group event
costs one layer delivery per viewer: a copy, a receive and a task for each (and on the
in-memory layer every receive also walks every channel: N² per event). Here a ``Hub`` joins
the group once for this process and receives each event once; it puts the event in the
``Inbox`` of every local consumer that joined. Each consumer still handles every event in
its own task, one message at a time, with its own handler, its ASGI messages in the same
queue in arrival order. The event dict is shared by the local consumers: read it, never
change it.

A consumer whose socket cannot keep up does not hold up the others: its inbox takes up to
``CAPACITY`` events and drops the rest, as a full channel drops group messages.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from asgiref.typing import ASGIReceiveCallable
from channels.layers import get_channel_layer
from django.conf import settings

from streams import batching

Message = Mapping[str, Any]  # an ASGI message or a group event
CAPACITY = 100  # the layers' default channel capacity
# The in-memory and core Redis layers drop a group member after a day (group_expiry); a hub
# can outlive that, so it joins again every hour, on a timer: a quiet room receives nothing
# that could remind it.
REJOIN = 3600.0


class Inbox:
    """A consumer's queue: its ASGI messages, and its groups' events up to ``capacity``."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.queue: asyncio.Queue[Message | BaseException] = asyncio.Queue()
        self.capacity = capacity
        self.dropped = 0
        self.hubs: dict[str, Hub] = {}  # the groups it joined

    def deliver(self, event: Message) -> None:
        if self.queue.qsize() >= self.capacity:
            self.dropped += 1
            return
        self.queue.put_nowait(event)

    def fail(self, error: BaseException) -> None:
        """Its hub lost the layer: the consumer raises, and its client reconnects."""
        self.queue.put_nowait(error)

    async def run(
        self,
        receive: ASGIReceiveCallable,
        dispatch: Callable[[Message], Awaitable[None]],
    ) -> None:
        """Dispatch ASGI messages and group events one at a time, in arrival order, until a
        handler raises (``StopConsumer`` included)."""
        pump = asyncio.create_task(self._pump(receive))
        try:
            while True:
                message = await self.queue.get()
                if isinstance(message, BaseException):
                    raise message
                await dispatch(message)
        finally:
            pump.cancel()

    async def _pump(self, receive: ASGIReceiveCallable) -> None:
        try:
            while True:
                message = await receive()
                self.queue.put_nowait(message)
                # Nothing follows a disconnect, and some servers (uvicorn) answer every
                # later receive() at once, without suspending: this loop would spin forever.
                if message["type"] == "websocket.disconnect":
                    return
        except Exception as error:
            self.queue.put_nowait(error)


class Hub:
    """This process's one member of ``group``: receives each event once, delivers it to
    every local inbox. Started by the first ``join``, stopped by the last ``leave``.

    Events that come together go out together, as one ``fanout.batch``, which a viewer
    sends as one WebSocket frame; ``batching.Window`` says when (``DASHBOARD_FLUSH_MS``,
    0: off). The wait is part of the lateness a viewer sees."""

    def __init__(self, layer: Any, group: str) -> None:
        self.layer = layer
        self.group = group
        self.members: set[Inbox] = set()
        self.pending: list[Message] = []
        self.flushing: asyncio.TimerHandle | None = None
        self.window = batching.Window(settings.DASHBOARD_FLUSH_MS / 1000)
        self.channel = ""
        self.started = asyncio.ensure_future(self._start())
        self.receiving: asyncio.Task[None] | None = None
        self.rejoining: asyncio.Task[None] | None = None

    async def _start(self) -> None:
        # The layer's own prefix: the core Redis layer reads every channel of a process
        # through one blocking pop per prefix, one prefix at a time.
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(self.group, self.channel)
        self.receiving = asyncio.create_task(self._receive())
        self.rejoining = asyncio.create_task(self._rejoin())

    async def _receive(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                event = await self.layer.receive(self.channel)
                if self.flushing is None:
                    now = loop.time()
                    due = self.window.due(now)
                    if due is None:
                        self.window.delivered(now, 1)
                        self._deliver(event)
                        continue
                    self.flushing = loop.call_at(due, self._flush)
                self.pending.append(event)
        except Exception as error:
            for inbox in self.members:  # an exception of its own each: each is raised apart
                inbox.fail(ConnectionError(f"{self.group}: the channel layer failed: {error!r}"))
            raise

    def _flush(self) -> None:
        self.flushing = None
        batch, self.pending = self.pending, []
        self.window.delivered(asyncio.get_running_loop().time(), len(batch))
        if batch:
            self._deliver(
                batch[0] if len(batch) == 1 else {"type": "fanout.batch", "events": batch}
            )

    def _deliver(self, event: Message) -> None:
        for inbox in self.members:
            inbox.deliver(event)

    async def _rejoin(self) -> None:
        while True:
            await asyncio.sleep(REJOIN)
            with contextlib.suppress(Exception):  # the layer is down: try again next time
                await self.layer.group_add(self.group, self.channel)

    @property
    def failed(self) -> bool:
        """It could not join the group, or it lost the layer since."""
        if self.started.done() and (self.started.cancelled() or self.started.exception()):
            return True
        return self.receiving is not None and self.receiving.done()

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.started
        if self.flushing is not None:
            self.flushing.cancel()
        for task in (self.receiving, self.rejoining):
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        if self.channel:
            await self.layer.group_discard(self.group, self.channel)


_HUBS: dict[tuple[asyncio.AbstractEventLoop, Any, str], Hub] = {}


def _key(group: str) -> tuple[asyncio.AbstractEventLoop, Any, str]:
    # Per event loop and layer instance: tests run each on a loop and layer of its own.
    return asyncio.get_running_loop(), get_channel_layer(), group


async def join(group: str, inbox: Inbox) -> None:
    """Deliver ``group``'s events to ``inbox`` from now on. Returns once this process is a
    member of the group, so a snapshot read afterwards misses no event."""
    key = _key(group)
    hub = _HUBS.get(key)
    if hub is None or hub.failed:
        hub = _HUBS[key] = Hub(key[1], group)
    hub.members.add(inbox)
    inbox.hubs[group] = hub
    try:
        await asyncio.shield(hub.started)
    except BaseException:
        await leave(group, inbox)
        raise


async def leave(group: str, inbox: Inbox) -> None:
    """Stop delivering to ``inbox``; the last local member out takes the hub out of the
    group, so no ghost member is left behind."""
    hub = inbox.hubs.pop(group, None)
    if hub is None:
        return
    hub.members.discard(inbox)
    if not hub.members:
        key = _key(group)
        if _HUBS.get(key) is hub:
            del _HUBS[key]
        # Shielded: a consumer cancelled while leaving must not leave a member behind.
        await asyncio.shield(hub.stop())


def deliver_local(group: str, event: Message) -> None:
    """Hand ``event`` to this process's members of ``group`` without the layer: for news
    about the layer itself, which cannot carry it while it is down."""
    hub = _HUBS.get(_key(group))
    if hub is not None:
        for inbox in hub.members:
            inbox.deliver(event)
