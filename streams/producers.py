"""The producer twins: one consumer instance per stream, on its own connection.

The one fact to know: **all sync consumers of one process share one thread**.
``SyncConsumer.dispatch`` runs through ``database_sync_to_async`` (thread-sensitive) and
neither Channels nor Daphne sets a ``ThreadSensitiveContext`` (channels#2132), so a sync
handler looping on ``time.sleep`` holds that thread until it ends; and since Channels 4.2,
``AsyncConsumer.dispatch`` awaits ``aclose_old_connections()`` on it before every message.
Both behaviours stay: they are what the dashboard measures. Read the twins side by side:
they differ in the sleep, the send, and in that the async one ticks in a task of its own.
"""

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

from asgiref.sync import async_to_sync
from asgiref.typing import ASGIReceiveCallable, ASGISendCallable, WebSocketScope
from channels.consumer import AsyncConsumer, SyncConsumer
from channels.exceptions import StopConsumer

from streams import events, live, producing, recording, settling
from streams.choices import Mode
from streams.close_codes import CLOSE_BAD_ROOM, CLOSE_DONE, CLOSE_REFUSED
from streams.frames import Refusal
from streams.live import STORE_DOWN
from streams.process import SHUTDOWN
from streams.rooms import room_from_scope, room_group, stream_group
from streams.stream import CLIENT_LEFT, SERVER_STOPPED, STOPPED_BY_USER, State, Stream
from streams.ticking import Ticker
from streams.workloads import AsyncWork, SyncWork

Message = dict[str, Any]
# A send to a client that has left: the ASGI spec has the server raise a subclass of OSError
# (uvicorn's ClientDisconnected); Daphne drops the message. Either way, nobody is listening.
CLIENT_GONE = OSError


class SyncTickConsumer(SyncConsumer):
    """Runs one stream: paced with ``time.sleep``, sent with ``async_to_sync(group_send)``.

    Its loop holds the shared sync thread from the first tick to the last: no other sync
    consumer, no default async one, and not itself, gets a message meanwhile.
    """

    mode = Mode.SYNC
    room: str | None = None
    stream: Stream | None = None

    async def __call__(
        self, scope: WebSocketScope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        self.loop_ended: Future[None] = Future()  # set in the loop's thread, awaited here
        try:
            await super().__call__(scope, receive, send)
        except asyncio.CancelledError:
            if self.stream is not None and self.stream.is_live:
                if SHUTDOWN.is_set():
                    await self.end_with_the_server(self.stream.interval)
                else:
                    # Daphne cancels a consumer 10 s after its client left; no thread hears
                    # it: the loop shows the flag, and anyone can stop it.
                    await live.aflag_orphaned(self.stream.room, self.stream.number)
            raise

    async def end_with_the_server(self, interval: float) -> None:
        """The server stops and has cancelled this consumer; the loop sees ``SHUTDOWN`` at its
        next tick, ends and writes its row. Wait for that, then tell the room the end again:
        asgiref cancels the send the loop's thread had in flight, which may have been it."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.wrap_future(self.loop_ended), interval + 10)
        if self.stream is not None and not self.stream.is_live:
            group, event = room_group(self.stream.room), events.stream_end(self.stream)
            with contextlib.suppress(*STORE_DOWN):
                await self.channel_layer.group_send(group, event)

    def websocket_connect(self, message: Message) -> None:
        self.room = room_from_scope(self.scope)
        self.send({"type": "websocket.accept"})
        if self.room is None:
            self.close(CLOSE_BAD_ROOM)

    def websocket_receive(self, message: Message) -> None:
        if self.room is None:
            return
        try:
            self.stream = producing.claim_order(self.scope, self.mode, message, self.stream)
        except producing.RunRefused as refused:
            if refused.stopped is not None:
                self.group_send(events.stream_end(refused.stopped))
            self.reply({"type": "error", "message": refused.message})
            self.close(CLOSE_REFUSED)
            return
        except Refusal as error:  # a bad frame: the connection stays open
            self.reply({"type": "error", "message": error.message})
            return
        try:
            self.run_stream(self.stream)
        finally:
            self.loop_ended.set_result(None)

    def websocket_disconnect(self, message: Message) -> None:
        raise StopConsumer

    def run_stream(self, stream: Stream) -> None:
        ticker, work = Ticker(stream), SyncWork(stream, self.scope["slow"])
        try:
            self.publish("stream.started", stream)
            for seq in ticker.seqs:
                work.run()  # the tick's work, before it is due
                time.sleep(ticker.wait_before(seq))
                stream = producing.heard(stream)
                if not stream.is_live:
                    break
                stream = ticker.tick(stream, seq, work.took)
                self.publish("stream.tick", stream)
            else:
                stream = stream.ended(State.DONE, time.time())
        except Exception as error:
            stream = producing.failed(stream, error)
        finally:
            work.close()
            producing.release(stream)
        try:
            self.publish(events.end_kind(stream), stream)
        except STORE_DOWN as error:
            producing.untold(stream, error)
        finally:
            # However it ended, and even if the room could not be told: a row.
            run = recording.save(stream, ticker)
            with self.client_may_be_gone():
                async_to_sync(settling.settle_later)(run)
            self.close()

    def publish(self, kind: str, stream: Stream) -> None:
        """Store the stream's state for late joiners, then tell the room and the client."""
        self.stream = stream
        live.save(stream)
        event = events.stream_event(kind, stream, time.time())
        self.group_send(event)
        self.reply(events.for_client(event))

    def group_send(self, event: Message) -> None:
        assert self.room is not None
        with self.client_may_be_gone():
            async_to_sync(self.channel_layer.group_send)(room_group(self.room), event)

    def reply(self, payload: Message) -> None:
        with self.client_may_be_gone(CLIENT_GONE):
            self.send({"type": "websocket.send", "text": json.dumps(payload)})

    def close(self, code: int = CLOSE_DONE) -> None:
        with self.client_may_be_gone(CLIENT_GONE):
            self.send({"type": "websocket.close", "code": code})

    @contextlib.contextmanager
    def client_may_be_gone(self, *gone: type[Exception]) -> Iterator[None]:
        """Once Daphne has cancelled this consumer (its client left), asgiref cancels a send
        in flight inside this thread; uvicorn raises ``gone`` instead, on a send to the
        client. The loop goes on, orphaned; anyone can stop it."""
        caught: tuple[type[BaseException], ...] = (asyncio.CancelledError, *gone)
        try:
            yield
        except caught:
            if self.stream is not None and self.stream.is_live:
                live.flag_orphaned(self.stream.room, self.stream.number)


class AsyncTickConsumer(AsyncConsumer):
    """Runs one stream: paced with ``asyncio.sleep``, sent with ``await group_send``.

    Its loop runs in a task of its own, so a lost client stops it at once. Like every
    default ``AsyncConsumer`` it waits for the shared sync thread before each message.
    """

    mode = Mode.ASYNC
    room: str | None = None
    stream: Stream | None = None
    ticking: "asyncio.Task[None] | None" = None
    looping = False
    stop_note = CLIENT_LEFT  # why a cancelled loop ended

    async def __call__(
        self, scope: WebSocketScope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        try:
            await super().__call__(scope, receive, send)
        except asyncio.CancelledError:
            # Daphne cancels every application at SIGTERM, and waits; and, once a second, one
            # whose client left 10 s ago (its disconnect queued behind the shared thread).
            if SHUTDOWN.is_set():
                self.stop_note = SERVER_STOPPED
            raise
        finally:
            # However the connection ends, its loop ends, told and recorded, before it goes:
            # shielded from Daphne's repeated cancels.
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self.end_loop())
            if self.stream is not None:
                group = stream_group(self.stream.room, self.stream.number)
                with contextlib.suppress(*STORE_DOWN):
                    await self.channel_layer.group_discard(group, self.channel_name)

    async def websocket_connect(self, message: Message) -> None:
        self.room = room_from_scope(self.scope)
        await self.send({"type": "websocket.accept"})
        if self.room is None:
            await self.close(CLOSE_BAD_ROOM)

    async def websocket_receive(self, message: Message) -> None:
        if self.room is None:
            return
        try:
            self.stream = await producing.aclaim_order(self.scope, self.mode, message, self.stream)
        except producing.RunRefused as refused:
            if refused.stopped is not None:
                await self.group_send(events.stream_end(refused.stopped))
            await self.reply({"type": "error", "message": refused.message})
            await self.close(CLOSE_REFUSED)
            return
        except Refusal as error:  # a bad frame: the connection stays open
            await self.reply({"type": "error", "message": error.message})
            return
        # Unlike its sync twin, this consumer hears a stop between ticks.
        group = stream_group(self.stream.room, self.stream.number)
        await self.channel_layer.group_add(group, self.channel_name)
        self.ticking = asyncio.create_task(self.run_stream(self.stream))

    async def stream_stop(self, event: Message) -> None:
        """``stream.stop`` from the dashboard: end the loop now, not at its next tick."""
        if self.ticking is not None and self.looping:
            self.stop_note = STOPPED_BY_USER
            self.ticking.cancel()

    async def websocket_disconnect(self, message: Message) -> None:
        await self.end_loop()
        raise StopConsumer

    async def end_loop(self) -> None:
        """Cancel the loop if it is still ticking, then let it announce its end and record
        its run, cancelled or not."""
        if self.ticking is not None:
            if self.looping:
                self.ticking.cancel()
            await asyncio.wait([self.ticking])

    async def run_stream(self, stream: Stream) -> None:
        ticker, work = Ticker(stream), AsyncWork(stream, self.scope["slow"])
        self.looping = True
        try:
            await self.publish("stream.started", stream)
            for seq in ticker.seqs:
                await work.run()  # the tick's work, before it is due
                await asyncio.sleep(ticker.wait_before(seq))
                stream = await producing.aheard(stream)
                if not stream.is_live:
                    break
                stream = ticker.tick(stream, seq, work.took)
                await self.publish("stream.tick", stream)
            else:
                stream = stream.ended(State.DONE, time.time())
        except asyncio.CancelledError:
            # Cancelled by stream_stop, by websocket_disconnect (the client left), or by
            # the server shutting down: stop_note says which.
            stream = stream.ended(State.STOPPED, time.time(), self.stop_note)
        except Exception as error:
            stream = producing.failed(stream, error)
        finally:
            self.looping = False
            await work.close()
            producing.release(stream)
        try:
            await self.publish(events.end_kind(stream), stream)
        except STORE_DOWN as error:
            producing.untold(stream, error)
        finally:
            # However it ended, and even if the room could not be told: a row.
            run = await recording.asave(stream, ticker)
            await settling.settle_later(run)
            await self.close()

    async def publish(self, kind: str, stream: Stream) -> None:
        """Store the stream's state for late joiners, then tell the room and the client."""
        self.stream = stream
        await live.asave(stream)
        event = events.stream_event(kind, stream, time.time())
        await self.group_send(event)
        await self.reply(events.for_client(event))

    async def group_send(self, event: Message) -> None:
        assert self.room is not None
        await self.channel_layer.group_send(room_group(self.room), event)

    async def reply(self, payload: Message) -> None:
        with contextlib.suppress(CLIENT_GONE):  # its loop is cancelled already
            await self.send({"type": "websocket.send", "text": json.dumps(payload)})

    async def close(self, code: int = CLOSE_DONE) -> None:
        with contextlib.suppress(CLIENT_GONE):
            await self.send({"type": "websocket.close", "code": code})
