"""A finished run into the history: its row as the stream ends, its delivery a moment later.

The producer writes the row (ticks sent, lateness, outcome) the moment its stream ends. Each
viewer reports what reached it when it sees the end event (streams/live.py), so the row's
delivery figures are filled in ``DASHBOARD_DELIVERY_SETTLE`` seconds later, and only then is
the row shown. All of it runs off the shared sync thread: recording must not queue behind
a sync stream's loop.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connections

from streams import events, fragments, live
from streams.history import Comparison, compare
from streams.models import StreamRun
from streams.rooms import room_group
from streams.stream import Stream

log = logging.getLogger(__name__)

COMPARED_RUNS = 500  # the room's latest runs the sync/async comparison covers

_settling: set[asyncio.Task[None]] = set()  # strong references until each is done


def save(stream: Stream, lateness: list[float]) -> StreamRun:
    run = StreamRun.from_stream(stream, lateness)
    run.save()
    return run


def save_lost(stream: Stream) -> StreamRun:
    """The row of a stream whose producer's process died: its ticks' lateness went with it,
    but the record kept the p95 and the max over every tick."""
    run = StreamRun.from_stream(stream, [])
    if stream.seq:
        run.lateness_p95, run.lateness_max = stream.p95_lateness, stream.max_lateness
    run.save()
    return run


def fill_delivery(run_id: int, room: str, number: int) -> tuple[StreamRun, list[Comparison]]:
    """Put the viewers' reports into the row; the row and the room's comparison."""
    received, lost, viewers = live.delivery(room, number)
    StreamRun.objects.filter(pk=run_id).update(
        ticks_delivered=received, ticks_lost=lost, viewers=viewers
    )
    return StreamRun.objects.get(pk=run_id), comparison(room)


def comparison(room: str) -> list[Comparison]:
    """Sync against async over the room's latest runs, as the page shows it."""
    return compare(StreamRun.objects.filter(room=room)[:COMPARED_RUNS])


def closing_connections[**P, R](func: Callable[P, R]) -> Callable[P, R]:
    """``func`` run in an executor thread, which then closes its database connections:
    the thread is pooled, and nothing else would close them."""

    def closing(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        finally:
            connections.close_all()

    return closing


asave = live.off_thread(closing_connections(save))
asave_lost = live.off_thread(closing_connections(save_lost))
_afill_delivery = live.off_thread(closing_connections(fill_delivery))


async def settle_later(run: StreamRun) -> None:
    """Fill in ``run``'s delivery and show it, after the viewers had time to report.
    Returns at once; the work goes on in a task of this event loop."""
    task = asyncio.create_task(_settle(run.pk, run.room, run.number))
    _settling.add(task)
    task.add_done_callback(_settling.discard)


async def settled() -> None:
    """Wait for every run this process is still settling: a process that is about to
    exit (``manage.py stream``) calls it so its last run gets its figures and its row."""
    while _settling:
        await asyncio.wait(list(_settling))


async def _settle(run_id: int, room: str, number: int) -> None:
    await asyncio.sleep(settings.DASHBOARD_DELIVERY_SETTLE)
    try:
        run, comparison = await _afill_delivery(run_id, room, number)
        layer: Any = get_channel_layer()
        # Two messages: a <tbody> fragment followed by a <table> parses as neither.
        for kind, html in (
            ("run.recorded", fragments.history_row(run)),
            ("run.compared", fragments.comparison(comparison)),
        ):
            await layer.group_send(room_group(room), events.room_event(kind, html))
    except live.STORE_DOWN as error:
        # Redis is gone: the row stands without delivery figures; pages show it on load.
        log.warning("could not settle run %s of room %s: %r", run_id, room, error)
    except Exception:
        log.exception("could not settle run %s of room %s", run_id, room)
