"""A finished run into the history: its row as the stream ends, its delivery figures once
the viewers reported (streams/settling.py waits for them, then shows the row).

The async twins run off the shared sync thread: recording must not queue behind a sync
stream's loop.
"""

from streams import live
from streams.history import Comparison, compare
from streams.models import StreamRun
from streams.process import closing_connections, off_thread
from streams.stream import Stream

COMPARED_RUNS = 500  # the room's latest runs the sync/async comparison covers


def save(stream: Stream, lateness: list[float]) -> StreamRun | None:
    """The row of a stream its producer ended, with every tick's ``lateness``; None if a
    sweep had already ended it, taking its process for gone, and written its row."""
    if not live.claim_end(stream.room, stream.number):
        return None
    run = StreamRun.from_stream(stream, lateness)
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


asave = off_thread(closing_connections(save))
asave_lost = off_thread(closing_connections(save_lost))
afill_delivery = off_thread(closing_connections(fill_delivery))
