"""Log filters: what a Redis outage prints, and a request with a Host not allowed."""

import asyncio
import logging
import traceback

from streams.live import STORE_DOWN

# CPython 3.12 and 3.13's socket transport clears its write callback when the connection is
# lost, and ``writelines`` (redis-py's asyncio client writes with it) calls it unguarded:
# a command sent on a Redis connection that has just died raises TypeError or
# AttributeError from there instead of a connection error.
# https://github.com/python/cpython/issues/136234
CLOSED_TRANSPORT = ("asyncio/selector_events.py", "writelines")


def _written_to_a_lost_connection(error: BaseException) -> bool:
    if not isinstance(error, TypeError | AttributeError):
        return False
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return False
    filename, function = CLOSED_TRANSPORT
    return frames[-1].filename.endswith(filename) and frames[-1].name == function


class RedisDownOneLine(logging.Filter):
    """channels_redis' pub/sub receive task logs ``logger.exception`` about once a second
    while Redis is down: a 40-line traceback each time, for an outage the dashboard already
    reports; a channel cleaned up in the instant Redis dies can fail through a CPython bug
    (``CLOSED_TRANSPORT``), and one whose cleanup waits for a Redis that is down is
    cancelled when the server stops. Keep the line, with the error, and drop the traceback; any
    other exception keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is None:
            return True
        if isinstance(error, STORE_DOWN):
            cause = ""
        elif _written_to_a_lost_connection(error):
            cause = " (a write to a Redis connection that had just closed)"
        elif isinstance(error, asyncio.CancelledError):
            # The server stopping cancels a channel's cleanup that waits for a Redis down.
            cause = "cancelled"
        else:
            return True
        record.msg = f"{record.getMessage()}: {type(error).__name__}: {error or ''}{cause}"
        record.args = None
        record.exc_info = None
        record.exc_text = None
        return True


class RefusedHostOneLine(logging.Filter):
    """Django logs a request whose Host is not in ``ALLOWED_HOSTS`` with the traceback of
    the ``DisallowedHost`` it raised: the client's mistake (or a scanner's), answered with a
    400, printed as if the server had failed. Keep the line, drop the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True
