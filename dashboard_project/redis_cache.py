"""Django's Redis cache with one client, and so one connection pool, per process.

Django's cache handler is context-local (an asgiref ``Local``): every asyncio task that
touches ``cache`` builds a ``RedisCache`` of its own, and with it a client and a connection
pool, and Django closes caches only on ``request_finished``, which a WebSocket never sends
(``RedisCache`` has no ``close`` at all). Every consumer is a task: 300 viewers coming and
going left 188 Redis connections and as many file descriptors behind, and a Daphne with the
usual limit of 1,024 stopped accepting after about a thousand page views. Here every
instance built from the same settings shares one client; redis-py's pool is thread-safe, and
holds as many connections as threads use it at once.
"""

import threading
from typing import Any, ClassVar

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property


class ProcessRedisCache(RedisCache):
    # Set by RedisCache.__init__; django-stubs does not declare them.
    _servers: list[str]
    _options: dict[str, Any]
    _class: type[RedisCacheClient]

    _clients: ClassVar[dict[str, RedisCacheClient]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @cached_property
    def _cache(self) -> Any:
        key = repr((self._servers, sorted(self._options.items())))
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = self._class(self._servers, **self._options)
        return client
