"""Run one stream from outside the web process.

    python manage.py stream --room lobby --mode sync --count 50 --interval 1
    python manage.py stream --url http://127.0.0.1:8000 --mode async --count 20 --interval 0.5

The first form runs the very producer consumer the server runs (``SyncTickConsumer`` or
``AsyncTickConsumer``, under the room's thread model) here, in this process, and its events
reach the room's group through the channel layer: that needs a layer shared with the server,
Redis. The second form is a WebSocket client of a running server, like the page, so it works
with the default in-memory layer too. Either way the stream shows in the room's column,
marked with where it came from, and every tick is printed here as JSON.
"""

import asyncio
import json
from argparse import ArgumentParser
from typing import Any

from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from streams import frames, live, settling
from streams.choices import Mode
from streams.client import ClientError, run_producer
from streams.process import PROCESS
from streams.rooms import DEFAULT_ROOM, InvalidRoom, validate_room
from streams.routing import async_producer, sync_producer
from streams.stream import END_EVENTS

IN_MEMORY_REFUSAL = (
    "The channel layer is in memory: it lives inside one process, so a stream pushed from "
    "this command would reach no viewer of the server, which is another process. Set "
    "REDIS_URL to the server's Redis to push through it, or pass --url http://HOST:PORT to "
    "run the stream through the running server over WebSocket."
)


class Command(BaseCommand):
    help = "Run a sync or async stream into a room, through the channel layer or a server."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--room", default=DEFAULT_ROOM)
        parser.add_argument("--mode", choices=["sync", "async"], default="sync")
        parser.add_argument("--count", default="50", help="ticks (1-10000)")
        parser.add_argument("--interval", default="1", help="seconds between ticks (0.01-60)")
        parser.add_argument(
            "--url",
            help="a running dashboard (http://HOST:PORT): run the stream as its WebSocket "
            "client instead of through the channel layer",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            room = validate_room(options["room"])
            # The server's own validation, so a bad value fails here, clearly.
            frame = json.dumps(
                {"action": "run", "count": options["count"], "interval": options["interval"]}
            )
            run = frames.parse_producer_frame(frame, None, Mode(options["mode"]))
        except (InvalidRoom, frames.Refusal) as error:
            raise CommandError(str(error)) from None
        if options["url"]:
            self.through_server(options["url"], room, options["mode"], run)
            return
        backend = settings.CHANNEL_LAYERS["default"]["BACKEND"]
        if backend.endswith("InMemoryChannelLayer"):
            raise CommandError(IN_MEMORY_REFUSAL)
        end = asyncio.run(self.through_layer(room, options["mode"], frame))
        if end.get("type") == "error":
            raise CommandError(f"The stream was refused: {end['message']}")

    async def through_layer(self, room: str, mode: str, frame: str) -> dict[str, Any]:
        """Run the producer consumer here, as Daphne would for a client; its last event."""
        app = sync_producer if mode == "sync" else async_producer
        scope = {
            "type": "websocket",
            "path": f"/ws/rooms/{room}/{mode}/",
            "query_string": b"",
            "headers": [],
            "url_route": {"args": (), "kwargs": {"room": room}},
            "source": f"manage.py stream on {PROCESS}",
        }
        producer = ApplicationCommunicator(app, scope)
        await producer.send_input({"type": "websocket.connect"})
        accepted = await producer.receive_output(timeout=30)
        if accepted["type"] != "websocket.accept":
            raise CommandError(f"The producer did not accept: {accepted}")
        await producer.send_input({"type": "websocket.receive", "text": frame})
        last: dict[str, Any] = {}
        while last.get("type") not in {*END_EVENTS, "error"}:
            try:
                message = await producer.receive_output(timeout=None)
            except asyncio.CancelledError:
                # Ctrl-C: stop the stream as the dashboard's Stop does, and see it end.
                if "stream" not in last:
                    raise
                asyncio.current_task().uncancel()  # type: ignore[union-attr]
                await live.arequest_stop(room, last["stream"])
                self.stderr.write("Stopping the stream…")
                continue
            if message["type"] == "websocket.close":
                break
            last = json.loads(message["text"])
            self.stdout.write(message["text"])
        await producer.send_input({"type": "websocket.disconnect", "code": 1000})
        await producer.wait(timeout=10)
        await settling.settled()  # the run's row and its delivery figures, before exiting
        return last

    def through_server(self, url: str, room: str, mode: str, run: frames.Run) -> None:
        def on_tick(_run: Any, event: dict[str, Any]) -> None:
            self.stdout.write(json.dumps(event))

        try:
            result = asyncio.run(
                run_producer(
                    url, room, mode, count=run.count, interval=run.interval, on_tick=on_tick
                )
            )
        except ClientError as error:
            raise CommandError(f"The server refused: {error}") from None
        except OSError as error:
            raise CommandError(f"Cannot reach {url}: {error}") from None
        ended = {"type": "run", "stream": result.number, "state": result.outcome}
        self.stdout.write(json.dumps(ended | {"ticks": len(result.ticks)}))
