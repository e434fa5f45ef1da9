"""Sessions in the shared cache in front of the database (Django's `cached_db`), kept briefly.

Every session write goes to the database first, so the database always holds the truth. A write
or sign-out made while Redis is unreachable cannot reach the cache; when Redis comes back it may
still hold the older copy. Cache entries therefore live at most IMSPERM_SESSION_CACHE_SECONDS,
which bounds that window (docs/decisions.md). Permissions are never in the session.
"""

from django.conf import settings
from django.contrib.sessions.backends import cached_db


class _CappedTimeout:
    """The session cache, with every entry's lifetime capped."""

    def __init__(self, cache, seconds):
        self._cache = cache
        self._seconds = seconds

    def _capped(self, timeout):
        return self._seconds if timeout is None else min(timeout, self._seconds)

    def set(self, key, value, timeout=None, **kwargs):
        return self._cache.set(key, value, self._capped(timeout), **kwargs)

    async def aset(self, key, value, timeout=None, **kwargs):
        return await self._cache.aset(key, value, self._capped(timeout), **kwargs)

    def __contains__(self, key):
        return key in self._cache

    def __getattr__(self, name):
        return getattr(self._cache, name)


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        self._cache = _CappedTimeout(self._cache, settings.IMSPERM_SESSION_CACHE_SECONDS)
