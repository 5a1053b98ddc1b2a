"""A room's viewers over every server process, such that a process that dies stops counting.

Each process keeps its own count of a room's viewers in the cache under a lease it renews,
and lists itself in the room's registry of processes with the same lease. A process killed
with viewers connected never says they left; its lease lapses instead, and the room's count
drops by them. Pure: the cache reads and writes are in streams/live.py.
"""

from collections.abc import Iterable
from typing import Any


def _entries(registry: Any) -> dict[str, float]:
    """A registry as read from the cache: anything but a dict (nothing yet, or an older
    format) counts as empty."""
    return registry if isinstance(registry, dict) else {}


def renewed(registry: Any, process: str, now: float, lease: float) -> dict[str, float]:
    """The registry (process -> lease end) with ``process`` renewed and lapsed ones dropped."""
    entries = _entries(registry)
    kept = {name: until for name, until in entries.items() if until > now}
    kept[process] = now + lease
    return kept


def due(registry: Any, process: str, now: float, lease: float) -> bool:
    """Whether ``process`` must renew its registration: it is missing, or a third of its
    lease has gone. Renewing no more often keeps the registry's writes (and their races
    between processes) to one per process per third of a lease."""
    until = _entries(registry).get(process)
    return not isinstance(until, int | float) or until - now < lease * 2 / 3


def live_processes(registry: Any, now: float) -> list[str]:
    """The processes whose lease holds at ``now``."""
    return [name for name, until in _entries(registry).items() if until > now]


def total(counts: Iterable[Any]) -> int:
    """The sum of the processes' counts; a count that lapsed (None) or is not one, 0."""
    return sum(c for c in counts if isinstance(c, int) and not isinstance(c, bool) and c > 0)
