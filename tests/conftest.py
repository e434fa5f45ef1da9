"""Shared fixtures: demo data, personas, fast hashing, and Chromium for browser tests."""

import os
import shutil
import sqlite3
import time
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core import management
from django.core.management import call_command
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from .browsing import PASSWORD
from .browsing import sign_in as sign_in_through_form
from .database_templates import migrating_from_the_template
from .properties import examples

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# Property tests judge answers, never speed: no per-example deadline and no "too slow" health check,
# which a busy machine would turn into failures (speed is measured by bench/, not asserted here).
hypothesis_settings.register_profile("imsperm", deadline=None, suppress_health_check=[HealthCheck.too_slow],
                                      max_examples=examples(100))  # a quarter in the fast lane: tests/properties.py
hypothesis_settings.load_profile("imsperm")
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Debian's Chromium headless shell (scripts/ensure-chromium): the same Blink as /usr/bin/chromium, which
# IMSPERM_CHROMIUM=/usr/bin/chromium runs instead; the browser's UI it leaves out cost CPU on every page.
CHROMIUM = os.environ.get("IMSPERM_CHROMIUM", "/usr/bin/chromium-headless-shell")
INSTALL_CHROMIUM = "apt-get install -y chromium-headless-shell"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
# The sweeps over every page × persona check markup, which the database does not change: CI runs them in
# its SQLite pass only, so the PostgreSQL pass does not take them twice.
sweep_on_sqlite_only = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3",
    reason="a sweep of every page's markup, which no database changes; the SQLite pass of CI runs it")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings):
    """Just before pytest-django creates the test database: an in-memory SQLite one is migrated by copying
    the machine's migrated template (tests/database_templates.py) instead of running every migration again in
    each test process; PostgreSQL migrates as Django does. Django's test-database creation imports
    `call_command` when it runs, so the wrapper stands in `django.core.management` until `django_db_setup`
    below puts Django's own back."""
    management.call_command = migrating_from_the_template(management.call_command)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The demo world, loaded once for the session; each test rolls back its own changes."""
    management.call_command = getattr(management.call_command, "__wrapped__", management.call_command)
    with django_db_blocker.unblock():
        call_command("seed_demo", stdout=StringIO())
        _keep_the_seeded_demo()


@pytest.fixture(autouse=True)
def last_used_pinned(monkeypatch):
    """Each test starts with no last-used notes in memory and its last-used clock held at its start:
    whether a page writes its notes (one upsert after the response) then depends on the test alone,
    never on what an earlier test noted or on a minute turning between two requests."""
    from django.utils import timezone

    from accounts import last_used

    last_used.reset()
    started = timezone.now()
    monkeypatch.setattr(last_used, "_now", lambda: started)
    yield
    last_used.reset()


@pytest.fixture(autouse=True)
def language_restored():
    """A request in Chinese leaves its language active in the test's thread (the middleware activates it for
    the request; a server's next request activates its own): the next test must not read Chinese."""
    from django.utils import translation

    language = translation.get_language()
    yield
    translation.activate(language) if language else translation.deactivate()


@pytest.fixture(autouse=True)
def totp_clock_held(monkeypatch):
    """django-otp's clock held at the test's start (the rest of the clock runs): a code a test computes is
    still the current one when it submits it. A 30-second step turning in between made a code computed
    after sign-in the next step's, so "already used" read as a valid new code, on a busy machine."""
    from django_otp import oath
    from django_otp.plugins.otp_totp import models as totp_models

    held = time.time()
    monkeypatch.setattr(oath, "time", lambda: held)
    monkeypatch.setattr(totp_models, "time", SimpleNamespace(time=lambda: held))


@pytest.fixture
def demo(db):
    """Marks a test as using the demo data (seeded once per session)."""
    return True


@pytest.fixture
def as_user(client):
    """Sign the test client in as a demo persona: as_user("viewer")."""
    from accounts.models import User

    def sign_in(username):
        client.force_login(User.objects.get(username=username))
        return client

    return sign_in


def pytest_itemcollected(item):
    """How xdist shares the work (`--dist loadgroup`: make test, make test-fast, make test-database): a file's
    tests stay together on one worker, so that its module fixtures are built once, except browser tests and
    sweeps, which build nothing per module and are dealt out one test at a time (a sweep comes one test per
    persona), so that they fill whichever worker is free. Marked as each test is collected, before xdist reads
    the groups (its own collection hook)."""
    if "browser" not in item.keywords and "sweep" not in item.keywords:
        item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Browser tests run last (they flush the database the other tests share) and need Chromium;
    CI (IMSPERM_REQUIRE_BROWSER=1) fails instead of skipping them. xdist's workers take work in this order,
    so on each worker the browser tests come after every other test it runs (pytest_itemcollected). Within
    each part the sweeps come first: they are the longest tests (up to a minute each), and one dealt out last
    would leave the other worker idle while it runs."""
    items.sort(key=lambda item: ("browser" in item.keywords, "sweep" not in item.keywords))
    if shutil.which(CHROMIUM) or os.path.exists(CHROMIUM):
        return
    if os.environ.get("IMSPERM_REQUIRE_BROWSER"):
        raise pytest.UsageError(f"Browser tests are required but {CHROMIUM} is missing: {INSTALL_CHROMIUM}")
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing ({INSTALL_CHROMIUM}); CI requires it")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    }


_seeded_demo: dict[str, sqlite3.Connection] = {}  # this process's copy of its freshly seeded SQLite demo world


def _keep_the_seeded_demo() -> None:
    """A copy of the seeded in-memory SQLite test database (sqlite3's backup API, the whole database in memory)."""
    from django.db import connections

    for connection in connections.all():
        if connection.vendor == "sqlite" and connection.is_in_memory_db():
            connection.ensure_connection()
            _seeded_demo[connection.alias] = sqlite3.connect(":memory:", check_same_thread=False)
            connection.connection.backup(_seeded_demo[connection.alias])


@pytest.fixture
def live_demo(live_server, transactional_db):
    """A live server with the demo data. A browser test's database is flushed after it (transactional_db: the
    live server's thread must see what the test writes), and seeding the demo world again costs seconds per
    test; on SQLite (where browser tests run) each test restores the session's seeded copy in milliseconds.
    The process caches are emptied with it: what an earlier test did is gone from the database, so nothing
    computed from it may answer this one either."""
    from django.core.cache import cache
    from django.db import connection

    from accounts.process_cache import ProcessCache

    seeded = _seeded_demo.get(connection.alias)
    if seeded is None:
        call_command("seed_demo", stdout=StringIO())
    else:
        connection.ensure_connection()
        seeded.backup(connection.connection)
    ProcessCache.clear_every()
    cache.clear()
    return live_server


@pytest.fixture
def sign_in(page, live_demo):
    """Sign in through the real form: sign_in("viewer") leaves `page` on the first page after sign-in."""

    def go(username, password=PASSWORD):
        sign_in_through_form(page, live_demo.url, username, password)
        return page

    return go


@pytest.fixture
def screenshot(page):
    """screenshot("name") saves test-artifacts/screenshots/name.png (look at them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name):
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
