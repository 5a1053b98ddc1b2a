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
