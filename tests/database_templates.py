"""Migrated databases without migrating each time: one template per state of the code, shared by every test
process and every run on this machine, for SQLite and for PostgreSQL.

Migrating costs seconds (every migration, every data migration) and every test process needs a migrated
database: its in-memory test database (pytest-django's `django_db_setup`, which each xdist worker runs), and
the SQLite files of the tests that run the console in other processes (the races, real gunicorn workers),
where no other process could reach the in-memory one. The first process to need it migrates a file once
(`manage.py migrate`, under a lock, so xdist workers never migrate twice); everyone after copies it, which
costs milliseconds. The template is named by a digest of what a migrated database depends on (the
migrations and the app code their data migrations import, the pinned requirements): a change to any of
them names a new template, so a stale one is never copied. It holds what `migrate` leaves: the system roles
and policies and the admin group, nothing seeded (seeded rows carry times relative to the moment of seeding).

PostgreSQL the same way (`migrated_postgres_database`): a database `imsperm_migrated_<digest>` on the server,
migrated once, that no one connects to, from which `CREATE DATABASE … TEMPLATE` makes each new database in a
fraction of a second (migrating one takes about 9 s here). Its users: each xdist worker's test database in
CI's PostgreSQL pass, and the deployments of tests/deployment, `make loadtest` and `make faulttest`.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
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


POSTGRES_TEMPLATE_PREFIX = "imsperm_migrated_"
KEPT_POSTGRES_TEMPLATES = 4  # the newest few: other checkouts on the machine may hold other states of the code


@contextmanager
def _locked(name: str) -> Iterator[None]:
    """One process at a time on this machine for `name` (a template being built, or copied from)."""
    with open(Path(tempfile.gettempdir()) / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _postgres_admin(server_url: str):
    import psycopg

    return psycopg.connect(f"{server_url}/postgres", autocommit=True)


def migrated_postgres_template(server_url: str) -> str:
    """The name of the migrated template on the PostgreSQL server at `server_url` (postgres://user@host:port)
    for the code as it is, migrated now if no process has done it yet. Built under another name and renamed
    when whole; closed to connections, so that copying it never finds someone inside."""
    name = POSTGRES_TEMPLATE_PREFIX + _code_digest()
    port = server_url.rsplit(":", 1)[-1]
    with _locked(f"imsperm-postgres-{port}-{name}"):
        with _postgres_admin(server_url) as admin:
            if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                return name
            building = f"imsperm_building_{os.getpid()}"
            admin.execute(f'DROP DATABASE IF EXISTS "{building}"')
            admin.execute(f'CREATE DATABASE "{building}"')
        env = {**os.environ, "DJANGO_DEBUG": "1", "DATABASE_URL": f"{server_url}/{building}"}
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300, check=True)
        with _postgres_admin(server_url) as admin:
            admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            _drop_old_postgres_templates(admin)
    return name


def _drop_old_postgres_templates(admin) -> None:
    """All but the newest few templates (by the order the server created them); one in use stays."""
    names = [row[0] for row in admin.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY oid DESC", [POSTGRES_TEMPLATE_PREFIX + "%"])]
    for old in names[KEPT_POSTGRES_TEMPLATES:]:
        with contextlib.suppress(Exception):
            admin.execute(f'DROP DATABASE IF EXISTS "{old}"')


def migrated_postgres_database(server_url: str, name: str) -> None:
    """A new database `name` on the server, migrated: a copy of the template (replacing any of that name)."""
    template = migrated_postgres_template(server_url)
    with _locked(f"imsperm-postgres-copy-{template}"), _postgres_admin(server_url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def _server_url(settings: dict) -> str:
    """postgres://user:password@host:port of a Django database's settings."""
    from urllib.parse import quote

    password = f":{quote(settings['PASSWORD'], safe='')}" if settings.get("PASSWORD") else ""
    return f"postgres://{quote(settings['USER'] or '', safe='')}{password}@{settings['HOST'] or '127.0.0.1'}" \
           f":{settings['PORT'] or 5432}"


def migrating_from_the_template(call_command):
    """`call_command` for Django's test-database creation (`DatabaseCreation.create_test_db`), where `migrate`
    of the test database copies the template instead of running every migration: into an in-memory SQLite
    one with sqlite3's backup API, and on PostgreSQL by making the new test database again from the template
    (Django has just created it empty and closed its connection). Anything else as Django does it."""

    def call(name, *args, **options):
        from django.db import DEFAULT_DB_ALIAS, connections

        connection = connections[options.get("database", DEFAULT_DB_ALIAS)]
        if name != "migrate":
            return call_command(name, *args, **options)
        if connection.vendor == "postgresql":
            connection.close()
            migrated_postgres_database(_server_url(connection.settings_dict), connection.settings_dict["NAME"])
            return None
        if connection.vendor != "sqlite" or not connection.is_in_memory_db():
            return call_command(name, *args, **options)
        connection.ensure_connection()
        with closing(sqlite3.connect(migrated_template())) as template:
            template.backup(connection.connection)
        return None

    call.__wrapped__ = call_command
    return call
