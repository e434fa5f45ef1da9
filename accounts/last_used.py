"""Last used: when each grant last allowed an action that was performed, to the minute.

The enforcement points (`permissions.check` for a page or a POST, `enforcement.require` for a
service, once its transaction commits) call `note` with an allowed decision; the decision names
the grants whose Allow statements allowed it (`Explanation.allowing_grant_ids`). Writing stays off
the request's path and cheap:

- an in-process set drops every repeat of a (grant, action) within the same minute, so a page
  that decides a hundred times notes each grant and action once;
- the new keys wait in memory and are written by one upsert after the response is sent
  (Django's `request_finished`), or as soon as the transaction commits outside a request;
- the upsert only moves a row forward to a later minute, so several processes together still
  change a (grant, action) at most once a minute.

A process that dies loses at most its last minute of notes: "last used" is a report, not a
decision, and nothing here bumps the authorization stamp.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from django.core.signals import request_finished
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from . import authz
from .models import Grant, GrantLastUsed

logger = logging.getLogger("imsperm.last_used")

_lock = threading.Lock()
_minute: datetime | None = None
_seen: set[tuple[int, str]] = set()
_pending: dict[tuple[int, str], datetime] = {}


def _now() -> datetime:
    """The clock (tests move it)."""
    return timezone.now()


def note(explanation) -> None:
    """Remember that the grants which allowed `explanation` were used for its action just now."""
    grant_ids = explanation.allowing_grant_ids
    if not grant_ids:
        return
    global _minute
    minute = _now().replace(second=0, microsecond=0)
    fresh = False
    with _lock:
        if minute != _minute:
            _seen.clear()
            _minute = minute
        for grant_id in grant_ids:
            key = (grant_id, explanation.action)
            if key not in _seen:
                _seen.add(key)
                _pending[key] = minute
                fresh = True
    if fresh and authz.request_keys.get() is None:  # not inside a request: nothing flushes after it
        transaction.on_commit(flush)


def note_on_commit(explanation) -> None:
    """Note a service's decision once its transaction commits (a rolled-back write was not performed)."""
    if explanation.allowing_grant_ids:
        transaction.on_commit(lambda: note(explanation))


def flush(**_signal_kwargs) -> int:
    """Write the waiting notes in one statement; returns how many (grant, action) rows it wrote."""
    with _lock:
        if not _pending:
            return 0
        rows = list(_pending.items())
        _pending.clear()
    try:
        try:
            return _upsert(rows)
        except IntegrityError:
            # A grant detached while the statement ran: its join saw the row, then the foreign-key check
            # waited for the delete to commit. A second statement no longer sees it and writes the rest.
            return _upsert(rows)
    except DatabaseError:
        logger.warning("last-used notes were not written", exc_info=True)
        return 0


def _upsert(rows) -> int:
    """One INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE older (PostgreSQL and SQLite ≥ 3.24 alike).

    The notes are joined to the grant table, so a grant detached meanwhile is skipped by the same
    statement (no read first, no transaction of its own: a flush is one query on every page)."""
    table = connection.ops.quote_name(GrantLastUsed._meta.db_table)
    grants = connection.ops.quote_name(Grant._meta.db_table)
    values = ", ".join(["(%s, %s, %s)"] * len(rows))
    params = []
    for (grant_id, action), minute in rows:
        params += [grant_id, action, connection.ops.adapt_datetimefield_value(minute)]
    # "WHERE 1 = 1" before ON CONFLICT: SQLite's documented way to parse an upsert after a SELECT.
    sql = (f"INSERT INTO {table} (grant_id, action, last_used_at) "
           f"SELECT notes.column1, notes.column2, notes.column3 FROM (VALUES {values}) AS notes "
           f"INNER JOIN {grants} ON {grants}.id = notes.column1 WHERE 1 = 1 "
           f"ORDER BY notes.column1, notes.column2 "  # one lock order in every process: no deadlock
           f"ON CONFLICT (grant_id, action) DO UPDATE SET last_used_at = excluded.last_used_at "
           f"WHERE {table}.last_used_at < excluded.last_used_at")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def reset() -> None:
    """Forget the in-process state (tests)."""
    global _minute
    with _lock:
        _seen.clear()
        _pending.clear()
        _minute = None


request_finished.connect(flush, dispatch_uid="imsperm-last-used-flush")
