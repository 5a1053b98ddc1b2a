"""Django's Redis cache through Redis Sentinel.

Django's ``RedisCache`` builds its pools with ``pool_class.from_url(LOCATION, **OPTIONS)``;
this pool reads the master's name and database from ``redis://<master>/<db>`` and asks the
sentinels where that master is, again after every failover.
"""

from typing import Any
from urllib.parse import urlsplit

from redis.sentinel import Sentinel, SentinelConnectionPool


class SentinelPool(SentinelConnectionPool):
    @classmethod
    def from_url(  # type: ignore[override]
        cls, url: str, sentinels: list[tuple[str, int]], **options: Any
    ) -> "SentinelPool":
        parts = urlsplit(url)
        master = parts.hostname or ""
        db = int(parts.path.strip("/") or 0)
        return cls(master, Sentinel(sentinels), db=db, **options)
