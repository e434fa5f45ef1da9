"""Rows made once for a class or module of tests that only read them: one way, for every such fixture."""

from contextlib import contextmanager

from django.db import transaction


@contextmanager
def made_for_the_scope(django_db_blocker, make):
    """`make()` run once in a transaction around the scope's tests and rolled back after them; yields what it
    returned. Each test still rolls back its own changes, in the savepoint pytest-django opens inside this
    transaction. Process caches are keyed by a stamp each change renews (accounts/process_cache.py), so nothing
    one test cached outlives its rollback. For a class- or module-scoped fixture that takes `django_db_setup`."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
    try:
        with django_db_blocker.unblock():
            made = make()
        yield made
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
