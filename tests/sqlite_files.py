"""SQLite database files of their own, for tests that run the console in other processes (the races, real
gunicorn workers): the suite's test database lives in memory, where no other process can reach it.

Migrating a new file costs seconds (every migration, every data migration); a file migrated once per test
process and copied for each test costs a file copy. The copy holds what `migrate` leaves: the system roles
and policies and the admin group, nothing seeded."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def _migrated_template() -> Path:
    path = Path(tempfile.mkdtemp(prefix="imsperm-sqlite-template-")) / "migrated.sqlite3"
    env = {**os.environ, "DJANGO_DEBUG": "1", "DATABASE_URL": f"sqlite:///{path}"}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env,
                   capture_output=True, text=True, timeout=300, check=True)
    return path


def migrated_database(path: Path) -> str:
    """A migrated SQLite database at `path` (a copy of this process's template): its DATABASE_URL."""
    shutil.copyfile(_migrated_template(), path)
    return f"sqlite:///{path}"
