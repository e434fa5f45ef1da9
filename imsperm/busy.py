"""A busy database (or an unavailable file store) is a 503 with Retry-After, never a 500.

Every wait for a lock is bounded by the settings (SQLite's `timeout`, PostgreSQL's `lock_timeout`,
IMSPERM_DB_LOCK_TIMEOUT seconds). When it runs out — or PostgreSQL cancels a statement, detects a
deadlock or a serialization failure, or the connection is lost or refused — the request is answered
"busy, try again in a moment": the console's own 503 page (a fragment for htmx), JSON under /api/.
Nothing was written by the refused request: its transaction was rolled back.

BusyDatabaseMiddleware answers for errors raised in a view (django-ninja re-raises what it does not
handle, so the API's too); errors.server_error answers for those raised in a middleware (the
session, the authentication), which Django hands to the 500 handler.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.utils.translation import gettext, gettext_noop

# SQLite: the lock's wait ran out (SQLITE_BUSY / SQLITE_LOCKED).
SQLITE_BUSY = ("database is locked", "database table is locked", "database schema is locked")
# PostgreSQL SQLSTATEs worth a retry: lock_timeout, statement_timeout (and a cancelled query), deadlock,
# serialization failure, too many connections, shutting down / starting up, and the connection class 08.
POSTGRES_BUSY = {"55P03", "57014", "40P01", "40001", "53300", "57P01", "57P02", "57P03"}
CONNECTION_LOST = ("connection failed", "could not connect", "connection refused", "server closed the connection",
                   "terminating connection", "connection is closed", "connection timed out", "the connection is lost",
                   "consuming input failed", "ssl connection has been closed")


def retry_after() -> int:
    return int(getattr(settings, "IMSPERM_BUSY_RETRY_AFTER", 5))


def is_busy(error: BaseException) -> bool:
    """Whether a database error means "busy or unreachable now" (a retry may succeed), not a fault."""
    if not isinstance(error, OperationalError | InterfaceError):
        return False
    for candidate in (error, error.__cause__):
        if candidate is None:
            continue
        sqlstate = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if sqlstate and (sqlstate in POSTGRES_BUSY or sqlstate.startswith("08")):
            return True
    message = str(error).lower()
    return any(text in message for text in SQLITE_BUSY + CONNECTION_LOST)


def busy_cause(error: BaseException | None, depth: int = 6) -> BaseException | None:
    """The busy database error behind `error`, if one caused it: Django turns a session save that lost
    its connection into UpdateError, then SessionInterrupted (a 400) — it is a busy database all the same."""
    while error is not None and depth:
        if is_busy(error):
            return error
        error, depth = error.__cause__ or error.__context__, depth - 1
    return None


def _outage(error: BaseException | None) -> BaseException | None:
    from images.uploads import StorageUnavailable

    return error if isinstance(error, StorageUnavailable) else busy_cause(error)


class OutageLogFilter(logging.Filter):
    """A request answered 503 because the database or the image folder was out is logged as one line
    naming the cause, without its traceback: an outage is not a bug, and the tracebacks of real faults
    stay easy to find (make loadtest and make faulttest count them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        cause = _outage(record.exc_info[1]) if record.exc_info else None
        if cause is not None:
            reason = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
            record.msg, record.args = f"{record.getMessage()} (outage: {type(cause).__name__}: {reason})", ()
            record.exc_info, record.exc_text = None, None
        return True


def busy_response(request, part: str = "database"):
    """503 with Retry-After: JSON under /api/, else the console's page (a fragment for htmx)."""
    seconds = retry_after()
    if part == "storage":
        template = gettext_noop("The image store cannot take files right now. Nothing was changed: try again in "
                                "%(seconds)s seconds.")
    else:
        template = gettext_noop("The database is busy with other changes. Nothing was changed: try again in "
                                "%(seconds)s seconds.")
    if request.path_info.startswith("/api/"):  # the API answers in English
        response = JsonResponse({"detail": template % {"seconds": seconds}}, status=503)
    else:
        reason = gettext(template) % {"seconds": seconds}
        from . import errors

        response = errors.service_unavailable(request, reason)
    response["Retry-After"] = str(seconds)
    return response


class BusyDatabaseMiddleware:
    """Turns a busy database raised by a view into 503 + Retry-After (other errors pass on)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_busy(exception):
            return busy_response(request)
        from images.uploads import StorageUnavailable  # the image folder refused a file

        if isinstance(exception, StorageUnavailable):
            return busy_response(request, "storage")
        return None
