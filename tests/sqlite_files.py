"""Migrated SQLite databases without migrating each time: one template per state of the code, shared by
every test process and every run on this machine.

Migrating costs seconds (every migration, every data migration) and every test process needs a migrated
database: its in-memory test database (pytest-django's `django_db_setup`, which each xdist worker runs), and
the SQLite files of the tests that run the console in other processes (the races, real gunicorn workers),
where no other process could reach the in-memory one. The first process to need it migrates a file once
(`manage.py migrate`, under a lock, so xdist workers never migrate twice); everyone after copies it, which
costs milliseconds. The template is named by a digest of what a migrated database depends on (the
migrations and the app code their data migrations import, the pinned requirements): a change to any of
them names a new template, so a stale one is never copied. It holds what `migrate` leaves: the system roles
and policies and the admin group, nothing seeded (seeded rows carry times relative to the moment of seeding).
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_NOT_APP_CODE = {".venv", "tests", "bench", "loadtest", "staticfiles", "media", "test-artifacts", "node_modules",
                 "docs", ".git"}


def _code_digest() -> str:
    """A digest of the app's Python files and requirements.txt (what `migrate` runs, directly or not)."""
    digest = hashlib.sha256()
    folders = [path for path in ROOT.iterdir() if path.is_dir() and path.name not in _NOT_APP_CODE]
    files = sorted(path for folder in folders for path in folder.rglob("*.py"))
    for path in [*files, ROOT / "manage.py", ROOT / "requirements.txt"]:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


@functools.cache
def migrated_template() -> Path:
    """The migrated template for the code as it is, migrated now if no process has done it yet."""
    folder = Path(tempfile.gettempdir())
    template = folder / f"imsperm-migrated-{_code_digest()}.sqlite3"
    with open(folder / f"{template.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process migrating the same template: wait for its file
        if not template.exists():
            building = template.with_suffix(f".building-{os.getpid()}")
            env = {**os.environ, "DJANGO_DEBUG": "1", "DATABASE_URL": f"sqlite:///{building}"}
            subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300, check=True)
            os.replace(building, template)  # whole or absent, never half-written
    return template


def migrated_database(path: Path) -> str:
    """A migrated SQLite database at `path` (a copy of the template): its DATABASE_URL."""
    shutil.copyfile(migrated_template(), path)
    return f"sqlite:///{path}"


def migrating_from_the_template(call_command):
    """`call_command` for Django's test-database creation (`DatabaseCreation.create_test_db`), where `migrate`
    of an in-memory SQLite test database copies the template into it (sqlite3's backup API) instead of running
    every migration; anything else, and every other database, as Django does it."""

    def call(name, *args, **options):
        from django.db import DEFAULT_DB_ALIAS, connections

        connection = connections[options.get("database", DEFAULT_DB_ALIAS)]
        if name != "migrate" or connection.vendor != "sqlite" or not connection.is_in_memory_db():
            return call_command(name, *args, **options)
        connection.ensure_connection()
        with closing(sqlite3.connect(migrated_template())) as template:
            template.backup(connection.connection)
        return None

    call.__wrapped__ = call_command
    return call
