"""Sessions in the shared cache in front of the database (Django's `cached_db`), kept briefly; and the
session middleware, which does not turn a request's done work into a failure when only the session's own
save met a lost database afterwards.

Every session write goes to the database first, so the database always holds the truth. A write
or sign-out made while Redis is unreachable cannot reach the cache; when Redis comes back it may
still hold the older copy. Cache entries therefore live at most IMSPERM_SESSION_CACHE_SECONDS,
which bounds that window (docs/decisions.md). Permissions are never in the session.
"""

import logging

from django.conf import settings
from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware

from .busy import busy_cause

logger = logging.getLogger("imsperm.sessions")


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


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's, except when the database drops between a request's commit and its session's save.

    A view's work is committed before the response goes back up through this middleware, which then saves
    the session when the request changed it (a flash message, a remembered project). Django answers a save
    that lost the database with SessionInterrupted, which the console turns into "503: nothing was changed"
    — false after a write that committed: the client retries a write that is done, or counts as failed a
    write that happened. So when an existing session's update meets a lost database after a successful
    answer, the answer stands and the session's change (that flash message) is lost and logged. A session
    being created or cycled (signing in) is not an update: that failure still fails the request, since
    its work *is* the session."""

    def process_response(self, request, response):
        try:
            return super().process_response(request, response)
        except SessionInterrupted as error:
            cause = busy_cause(error)
            if cause is None or response.status_code >= 400:
                raise
            logger.warning("session not saved after %s %s answered %s (outage: %s: %s); its work stands",
                           request.method, request.path, response.status_code, type(cause).__name__,
                           str(cause).splitlines()[0] if str(cause) else "")
            return response
