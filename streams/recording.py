"""A finished run into the history: its row as the stream ends, its delivery figures once
the viewers reported (streams/settling.py waits for them, then shows the row).

The async twins run off the shared sync thread: recording must not queue behind a sync
stream's loop.
"""

import logging
import time

from streams import live
from streams.gauges import SAMPLER
from streams.history import Compared, Comparison, compare
from streams.models import StreamRun
from streams.process import closing_connections, off_thread
from streams.reading import Finding, read
from streams.stream import Stream
from streams.ticking import Ticker

COMPARED_RUNS = 500  # the room's latest runs the sync/async comparison covers
READ_RUNS = 20  # the room's latest runs the reading covers: those the history shows

log = logging.getLogger(__name__)


def save(stream: Stream, ticker: Ticker) -> StreamRun | None:
    """The row of a stream its producer ended, with every tick's lateness and work time
    (``ticker``) and its process's gauge peaks while it ran; None if a sweep had already
    ended it, taking its process for gone, and written its row."""
    try:
        mine = live.claim_end(stream.room, stream.number)
    except live.STORE_DOWN as error:
        # A sweep claims through the same Redis: with it gone, nobody else can record this
        # end now. A row without the claim, rather than no row.
        log.warning("run of stream %s in room %s recorded unclaimed: %r", stream.number,
                    stream.room, error)  # fmt: skip
        mine = True
    if not mine:
        return None
    peaks = None
    if stream.started_at is not None:
        peaks = SAMPLER.peaks(stream.started_at, stream.ended_at or time.time())
    run = StreamRun.from_stream(stream, ticker.lateness.ordered, ticker.work.ordered, peaks)
    run.save()
    return run


def save_lost(stream: Stream) -> StreamRun:
    """The row of a stream a sweep ended (its process is gone, and the end is claimed): its
    ticks' lateness went with the process, but the record kept the p95 and the max."""
    run = StreamRun.from_stream(stream, [])
    if stream.seq:
        run.lateness_p95, run.lateness_max = stream.p95_lateness, stream.max_lateness
    run.save()
    return run


def fill_delivery(run_id: int, room: str, number: int) -> tuple[StreamRun, Compared]:
    """Put the viewers' reports into the row; the row and the room's comparison, with the
    reading of its latest runs."""
    received, lost, viewers = live.delivery(room, number)
    StreamRun.objects.filter(pk=run_id).update(
        ticks_delivered=received, ticks_lost=lost, viewers=viewers
    )
    return StreamRun.objects.get(pk=run_id), Compared(comparison(room), reading(room))


def reading(room: str) -> list[Finding]:
    """What the room's latest runs (those the history shows) showed, in plain words."""
    return read(list(StreamRun.objects.filter(room=room)[:READ_RUNS]))


def comparison(room: str) -> list[Comparison]:
    """Sync against async over the room's latest runs, as the page shows it."""
    return compare(StreamRun.objects.filter(room=room)[:COMPARED_RUNS])


asave = off_thread(closing_connections(save))
asave_lost = off_thread(closing_connections(save_lost))
afill_delivery = off_thread(closing_connections(fill_delivery))
