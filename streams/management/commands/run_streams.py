"""Run streams from the terminal, as a client of a running dashboard.

    python manage.py run_streams --mode sync --streams 3 --count 10 --interval 0.5

It asks the room for streams as the page does, opens one producer connection per stream,
prints every tick as it arrives, and ends with each run's figures. Every browser on the
room watches them live.
"""

import asyncio
import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from streams import frames
from streams.client import ClientError, ProducerRun, Viewer, run_streams
from streams.rooms import DEFAULT_ROOM, InvalidRoom, validate_room
from streams.schedule import summarize
from streams.templatetags.durations import ms, secs


class Command(BaseCommand):
    help = "Run sync or async streams on a running dashboard and print their figures."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the dashboard")
        parser.add_argument("--room", default=DEFAULT_ROOM)
        parser.add_argument("--mode", choices=["sync", "async"], default="sync")
        parser.add_argument("--count", default="50", help="ticks per stream (1-10000)")
        parser.add_argument("--interval", default="1", help="seconds between ticks (0.01-60)")
        parser.add_argument("--streams", default="1", help="streams at once (1-16)")
        parser.add_argument(
            "--thread-model",
            choices=["shared", "per_connection"],
            help="switch the room's thread model first",
        )
        parser.add_argument("--quiet", action="store_true", help="print the figures only")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            room = validate_room(options["room"])
            # The same validation the server applies, so a bad value fails here, clearly.
            start = frames.parse_room_frame(
                json.dumps(
                    {
                        "action": "start",
                        "mode": options["mode"],
                        "count": options["count"],
                        "interval": options["interval"],
                        "streams": options["streams"],
                    }
                )
            )
        except (InvalidRoom, frames.Refusal) as error:
            raise CommandError(str(error)) from None
        assert isinstance(start, frames.Start)
        try:
            runs = asyncio.run(self.run(options["url"], room, start, options))
        except ClientError as error:
            raise CommandError(f"The server refused: {error}") from None
        except OSError as error:
            raise CommandError(f"Cannot reach {options['url']}: {error}") from None
        self.report(runs)

    async def run(
        self, url: str, room: str, start: frames.Start, options: dict[str, Any]
    ) -> list[ProducerRun]:
        if options["thread_model"]:
            async with Viewer(url, room) as viewer:
                await viewer.set_thread_model(options["thread_model"])

        def on_tick(run: ProducerRun, event: dict[str, Any]) -> None:
            if not options["quiet"]:
                late = event["lateness"] * 1000
                self.stdout.write(
                    f"{run.mode} #{run.number} tick {event['seq']}/{start.count}"
                    f"  sent {late:.1f} ms late"
                )

        return await run_streams(
            url, room, start.mode.value, start.count, start.interval, start.streams, on_tick
        )

    def report(self, runs: list[ProducerRun]) -> None:
        self.stdout.write("")
        self.stdout.write(
            f"{'stream':>8} {'outcome':>8} {'ticks':>6} {'attempts':>8} {'waited':>8}"
            f" {'duration':>9} {'late p50':>9} {'p95':>9} {'max':>9}"
        )
        for run in sorted(runs, key=lambda r: r.number or 0):
            late = summarize([lateness for _, lateness, _ in run.ticks])
            p50, p95, top = (late.p50, late.p95, late.max) if late else (None, None, None)
            self.stdout.write(
                f"{run.mode + ' #' + str(run.number):>8} {run.outcome:>8} {len(run.ticks):>6}"
                f" {run.attempts:>8} {secs(run.waited):>8} {secs(run.duration):>9}"
                f" {ms(p50):>9} {ms(p95):>9} {ms(top):>9}"
            )
