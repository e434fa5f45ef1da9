"""Two saves at once on SQLite: they queue (IMMEDIATE transactions) instead of one failing with
"database is locked", and the lost-update guard still decides between two edits of one image.

Each case runs tests/sqlite_race.py in a subprocess against its own database file, because the
test database of the suite lives in memory and one connection cannot race itself.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.database_templates import migrated_database

ROOT = Path(__file__).resolve().parent.parent


def race(tmp_path, scenario: str, transaction_mode: str = "") -> dict:
    env = {**os.environ, "DATABASE_URL": migrated_database(tmp_path / "race.sqlite3"), "DJANGO_DEBUG": "1"}
    completed = subprocess.run(
        [sys.executable, "-m", "tests.sqlite_race", scenario, *([transaction_mode] if transaction_mode else [])],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3",
                    reason="IMMEDIATE transactions are a SQLite setting; the SQLite pass of CI runs this")
def test_sqlite_transactions_take_the_write_lock_when_they_begin():
    assert settings.DATABASES["default"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert settings.DATABASES["default"]["OPTIONS"]["timeout"] >= 5


def test_two_simultaneous_saves_both_succeed(tmp_path):
    result = race(tmp_path, "two-groups")
    assert result["mode"] == "IMMEDIATE"
    assert result["outcomes"] == ["saved", "saved"]
    assert {"by 0", "by 1"} <= set(result["stored"])


def test_without_immediate_transactions_the_same_race_fails(tmp_path):
    """The control: the harness does catch "database is locked" when the setting is missing."""
    result = race(tmp_path, "two-groups", "DEFERRED")
    assert sorted(result["outcomes"]) == ["OperationalError: database is locked", "saved"]


def test_two_saves_of_one_image_from_the_same_revision_one_wins_one_conflicts(tmp_path):
    result = race(tmp_path, "same-image")
    assert sorted(result["outcomes"]) == ["conflict", "saved"]
    assert len([d for d in result["stored"] if d.startswith("by ")]) == 1
