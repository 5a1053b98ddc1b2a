"""The enumerations a run's row stores: its mode, its thread model, how it ended.

Django's ``TextChoices``, so the model's fields take their choices from them; they need no
settings, so the pure modules that use them (streams/stream.py, streams/frames.py) still run
and are tested without Django set up.
"""

from django.db.models import TextChoices


class Mode(TextChoices):
    SYNC = "sync", "Sync"
    ASYNC = "async", "Async"


class ThreadModel(TextChoices):
    SHARED = "shared", "Channels default (one shared thread)"
    PER_CONNECTION = "per_connection", "A thread per connection"

    @property
    def short_label(self) -> str:
        return "shared" if self is ThreadModel.SHARED else "own thread"


class Outcome(TextChoices):
    """How a run ended, as its history row says."""

    FINISHED = "finished"  # every tick sent
    STOPPED = "stopped"  # from the dashboard, or its client left (async: at once)
    ORPHANED = "orphaned"  # its client left and the sync loop went on alone
    FAILED = "failed"  # the loop raised: the note says what


class Work(TextChoices):
    """What a producer does once per tick before it sends (streams/workloads.py)."""

    SLEEP = "sleep", "sleep"
    QUERY = "query", "an ORM query"
    HTTP = "http", "an HTTP GET"
    CPU = "cpu", "pure-Python computation"
    BLOCKING = "blocking", "time.sleep in async code"
    OFFLOAD = "offload", "time.sleep through sync_to_async(thread_sensitive=False)"

    @property
    def costed(self) -> bool:
        """It takes a cost, in ms per tick."""
        return self in {Work.HTTP, Work.CPU, Work.BLOCKING, Work.OFFLOAD}

    @property
    def async_only(self) -> bool:
        """Only an AsyncConsumer can make this mistake, or its fix."""
        return self in {Work.BLOCKING, Work.OFFLOAD}

    def freezes(self, mode: "Mode") -> bool:
        """It holds the event loop, and with it every page of the process."""
        return mode is Mode.ASYNC and self in {Work.CPU, Work.BLOCKING}
