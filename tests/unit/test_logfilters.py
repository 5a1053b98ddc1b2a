import asyncio
import logging
import sys

from django.core.exceptions import DisallowedHost
from redis.exceptions import ConnectionError as RedisConnectionError

from dashboard_project.logfilters import RedisDownOneLine, RefusedHostOneLine


def record_of(error: Exception) -> logging.LogRecord:
    try:
        raise error
    except BaseException:  # noqa: BLE001 - any exception, as logger.exception gets it
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


def test_a_write_to_a_redis_connection_that_just_closed_is_one_line():
    """cpython#136234, as Redis dying under a channel's cleanup provokes it: a real
    transport, closed, then written to with writelines as redis-py does."""

    async def write_after_close() -> BaseException | None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.transport.close()
        try:
            writer.writelines([b"PING\r\n"])
        except (TypeError, AttributeError) as error:
            return error
        finally:
            server.close()
        return None

    error = asyncio.run(write_after_close())
    if error is None:  # a Python with cpython#136234 fixed drops the write: nothing to filter
        return
    record = logging.LogRecord(
        "channels_redis.pubsub", logging.ERROR, __file__, 1, "cleaning up", (), None
    )
    record.exc_info = (type(error), error, error.__traceback__)
    assert RedisDownOneLine().filter(record)
    line = logging.Formatter().format(record)
    assert "Traceback" not in line and "just closed" in line


def test_a_cleanup_cancelled_as_the_server_stops_is_one_line():
    record = record_of(asyncio.CancelledError())
    assert RedisDownOneLine().filter(record)
    assert logging.Formatter().format(record) == "Unexpected x: CancelledError: cancelled"


def test_a_refused_host_is_one_line_without_its_traceback():
    record = record_of(DisallowedHost("Invalid HTTP_HOST header: 'evil.example'."))
    record.msg, record.args = "Invalid HTTP_HOST header: 'evil.example'.", ()
    assert RefusedHostOneLine().filter(record)
    assert logging.Formatter().format(record) == "Invalid HTTP_HOST header: 'evil.example'."
