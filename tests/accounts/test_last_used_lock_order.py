"""Two processes flushing last-used notes never deadlock: every flush locks its rows in one order.

CI's load test failed with two tracebacks in each server's log ("last-used notes were not
written"): two servers upserting the same (grant, action) rows in opposite orders. On PostgreSQL a
row lock is taken in the order the statement processes its rows, so the test holds the *later* row
and looks at whether a flush listing the rows later-first has already locked the *earlier* one.
"""

import threading
import time
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.db import connection

from accounts import last_used
from accounts.models import Grant, GrantLastUsed

pytestmark = [
    pytest.mark.usefixtures("demo"),
    pytest.mark.skipif(settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
                       reason="row locks are PostgreSQL's; CI's PostgreSQL pass runs this"),
]

BEFORE, AFTER = datetime(2026, 12, 1, 12, 0, tzinfo=UTC), datetime(2026, 12, 1, 12, 5, tzinfo=UTC)


def raw_connection():
    import psycopg

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**{k: v for k, v in params.items() if k in {"dbname", "user", "password", "host", "port"}})


def test_a_flush_locks_its_rows_in_one_order_whatever_order_they_were_noted_in():
    grant_id = Grant.objects.order_by("pk").values_list("pk", flat=True).first()
    earlier, later = (grant_id, "ims:images:get"), (grant_id, "ims:images:list")  # sorted: earlier < later
    table = GrantLastUsed._meta.db_table
    setup = raw_connection()
    setup.autocommit = True
    holder, prober = raw_connection(), raw_connection()
    try:
        for _, action in (earlier, later):  # committed rows, so every connection sees and locks them
            setup.execute(f"INSERT INTO {table} (grant_id, action, last_used_at) VALUES (%s, %s, %s) "
                          f"ON CONFLICT (grant_id, action) DO NOTHING", (grant_id, action, BEFORE))
        holder.execute(f"SELECT 1 FROM {table} WHERE grant_id = %s AND action = %s FOR UPDATE", later)

        def flush_later_first():
            try:
                last_used._upsert([(later, AFTER), (earlier, AFTER)])
            finally:
                from django.db import connection as thread_connection
                thread_connection.close()

        flusher = threading.Thread(target=flush_later_first)
        flusher.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # until the flush waits on the held row
            waiting = setup.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                    "AND query LIKE %s", (f"INSERT INTO%{table}%",)).fetchone()[0]
            if waiting:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the flush never waited on the held row")
        import psycopg

        with pytest.raises(psycopg.errors.LockNotAvailable):  # the earlier row was locked first
            prober.execute(f"SELECT 1 FROM {table} WHERE grant_id = %s AND action = %s FOR UPDATE NOWAIT", earlier)
    finally:
        holder.rollback()
        prober.rollback()
        flusher.join(timeout=10)
        setup.execute(f"DELETE FROM {table} WHERE grant_id = %s AND action IN (%s, %s)",
                      (grant_id, earlier[1], later[1]))
        for conn in (setup, holder, prober):
            conn.close()
