"""Log filters: what a Redis outage prints."""

import logging

from streams.live import STORE_DOWN


class RedisDownOneLine(logging.Filter):
    """channels_redis' pub/sub receive task logs ``logger.exception`` about once a second
    while Redis is down: a 40-line traceback each time, for an outage the dashboard already
    reports. Keep the line, with the error, and drop the traceback; any other exception
    keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, STORE_DOWN):
            record.msg = f"{record.getMessage()}: {type(error).__name__}: {error}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True
