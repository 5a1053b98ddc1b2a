"""A finished run's delivery figures, filled in once its viewers reported, then shown.

The producer writes the run's row the moment its stream ends (streams/recording.py). Each
viewer reports what reached it when it sees the end event (streams/live.py), so the row's
delivery figures are filled in ``DASHBOARD_DELIVERY_SETTLE`` seconds later, and only then is
the row shown to the room. It runs in a task of the producer's event loop, off the shared
sync thread: settling must not queue behind a sync stream's loop.
"""

import asyncio
import logging
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings

from streams import events, live, recording
from streams.models import StreamRun
from streams.rooms import room_group

log = logging.getLogger(__name__)

_settling: set[asyncio.Task[None]] = set()  # strong references until each is done


async def settle_later(run: StreamRun | None) -> None:
    """Fill in ``run``'s delivery and show it, after the viewers had time to report.
    Returns at once; the work goes on in a task of this event loop. No run, nothing to do
    (a sweep recorded it: ``recording.save``)."""
    if run is None:
        return
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
        run, compared = await recording.afill_delivery(run_id, room, number)
        layer: Any = get_channel_layer()
        # Two messages: a <tbody> fragment followed by a <table> parses as neither.
        for event in (events.run_recorded(run), events.run_compared(compared)):
            await layer.group_send(room_group(room), event)
    except live.STORE_DOWN as error:
        # Redis is gone: the row stands without delivery figures; pages show it on load.
        log.warning("could not settle run %s of room %s: %r", run_id, room, error)
    except Exception:
        log.exception("could not settle run %s of room %s", run_id, room)
