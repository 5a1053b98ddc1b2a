"""Log filters: what a Redis outage prints."""

import logging

from redis.exceptions import RedisError

# What a Redis client raises while the server is gone (as streams.live.STORE_DOWN).
REDIS_DOWN = (RedisError, OSError, TimeoutError)


class RedisDownOneLine(logging.Filter):
    """channels_redis' pub/sub receive task logs ``logger.exception`` about once a second
    while Redis is down: a 40-line traceback each time, for an outage the dashboard already
    reports. Keep the line, with the error, and drop the traceback; any other exception
    keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, REDIS_DOWN):
            record.msg = f"{record.getMessage()}: {type(error).__name__}: {error}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True
