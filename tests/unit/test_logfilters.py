import logging
import sys

from redis.exceptions import ConnectionError as RedisConnectionError

from dashboard_project.logfilters import RedisDownOneLine


def record_of(error: Exception) -> logging.LogRecord:
    try:
        raise error
    except Exception:  # noqa: BLE001 - any exception, as logger.exception gets it
        exc_info = sys.exc_info()
    return logging.LogRecord(
        "channels_redis.pubsub", logging.ERROR, __file__, 1, "Unexpected %s", ("x",), exc_info
    )


def test_a_redis_outage_is_one_line_with_its_error():
    record = record_of(RedisConnectionError("Error 111 connecting to 127.0.0.1:6379."))
    assert RedisDownOneLine().filter(record)
    line = logging.Formatter().format(record)
    assert line == "Unexpected x: ConnectionError: Error 111 connecting to 127.0.0.1:6379."


def test_any_other_error_keeps_its_traceback():
    record = record_of(KeyError("bug"))
    assert RedisDownOneLine().filter(record)
    assert "Traceback" in logging.Formatter().format(record)
