"""An import never holds SQLite's write lock while it computes: a writer on another connection is not blocked.

Runs tests/iac/plan_race.py in a subprocess against its own database file (the suite's SQLite
test database lives in memory, and one connection cannot race itself). The busy timeout there is
1 s: a writer kept waiting by the import would fail with "database is locked".
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.database_templates import migrated_database

ROOT = Path(__file__).resolve().parents[2]


def race(tmp_path, scenario: str) -> dict:
    env = {**os.environ, "DATABASE_URL": migrated_database(tmp_path / "race.sqlite3"), "DJANGO_DEBUG": "1"}
    completed = subprocess.run([sys.executable, "-m", "tests.iac.plan_race", scenario], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=300, check=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("scenario", ["apply", "trial"])
def test_a_write_while_the_import_computes_is_not_blocked(tmp_path, scenario):
    result = race(tmp_path, scenario)
    assert result["writes"] == ["saved"], result
    assert result["stored"] == "written while the import computed"
    assert result["import"] == "done", result
