"""The shared cache, failing soft: when Redis cannot be reached the console carries on without it.

Django's RedisCache raises on a lost connection, which would turn a cache outage into a console
outage. Here a failed call answers as a miss (reads) or is skipped (writes), is logged, and
Redis is left alone for a few seconds, so requests do not each wait for a dead server. Callers
fall back to the database (sessions are `cached_db`); nothing that decides permissions is cached.
"""

from __future__ import annotations

import functools
import logging
import time

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger("imsperm.cache")
RETRY_AFTER_SECONDS = 5.0


def _fail_soft(answer_when_down):
    def decorator(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            if time.monotonic() < self._down_until:
                return answer_when_down(args, kwargs)
            try:
                return method(self, *args, **kwargs)
            except RedisError as error:
                self._down_until = time.monotonic() + RETRY_AFTER_SECONDS
                logger.warning("Redis unreachable (%s): using the database for %.0f s", error, RETRY_AFTER_SECONDS)
                return answer_when_down(args, kwargs)

        return wrapper

    return decorator


def _default(args, kwargs):
    return kwargs.get("default", args[1] if len(args) > 1 else None)


class FailSoftRedisCache(RedisCache):
    """RedisCache whose every call survives Redis being down (a miss, or a skipped write)."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._down_until = 0.0

    def ping(self) -> bool:
        """Whether Redis answers now (the health endpoint asks; ignores the back-off)."""
        try:
            return bool(self._cache.get_client(write=True).ping())
        except RedisError:
            return False

    get = _fail_soft(_default)(RedisCache.get)
    get_many = _fail_soft(lambda args, kwargs: {})(RedisCache.get_many)
    has_key = _fail_soft(lambda args, kwargs: False)(RedisCache.has_key)
    add = _fail_soft(lambda args, kwargs: False)(RedisCache.add)
    set = _fail_soft(lambda args, kwargs: None)(RedisCache.set)
    set_many = _fail_soft(lambda args, kwargs: list(args[0]) if args else [])(RedisCache.set_many)
    touch = _fail_soft(lambda args, kwargs: False)(RedisCache.touch)
    delete = _fail_soft(lambda args, kwargs: False)(RedisCache.delete)
    delete_many = _fail_soft(lambda args, kwargs: None)(RedisCache.delete_many)
