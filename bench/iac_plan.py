"""The import's plan at growing sizes: time, SQL queries and lines of the planning modules run, for N and 2N.

A file of the demo configuration plus N entries (N/2 new groups of one member each, N/2 grants),
planned as the administrator (build_plan, then trial_plan, which also runs the steps). Prints one
row per size and the ratio of each figure to the previous size's: a linear plan doubles.

    python bench/iac_plan.py [--sizes 3000,6000,12000] [--trace]

--trace also counts the lines of the planning modules (accounts/iac/plan.py, planning.py, ...) that build_plan
executes (slow: a tracer).
Runs on its own temporary SQLite database.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def large_document(data: dict, entries: int) -> dict:
    """`data` (an export) plus about `entries` entries: new groups, each with a grant; every fourth
    group has a new user as its member (a user and a membership: 5 entries per 4 groups... ≈ N)."""
    data = json.loads(json.dumps(data))
    for number in range(entries * 4 // 10):
        name = f"bulk-{number:06d}"
        members = []
        if number % 4 == 0:
            data["users"].append({"username": name})
            members = [name]
        data["groups"].append({"name": name, "description": "", "members": members})
        data["grants"].append({"group": name, "policy": "IMS ReadOnlyAccess", "scope": "all_resources"})
    return data


def count_lines(function, *args, **kwargs):
    """Run `function`; the number of lines of the planning modules (accounts/iac/plan.py and what it was split
    into) it executed."""
    targets = {str(HERE.parent / "accounts" / "iac" / f"{name}.py")
               for name in ("plan", "scopes", "state", "checks", "planning", "grant_planning")}
    counted = [0]

    def tracer(frame, event, arg):
        if frame.f_code.co_filename not in targets:
            return None

        def local(frame, event, arg):
            if event == "line":
                counted[0] += 1
            return local
        return local

    sys.settrace(tracer)
    try:
        function(*args, **kwargs)
    finally:
        sys.settrace(None)
    return counted[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="3000,6000,12000")
    parser.add_argument("--trace", action="store_true")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of each build_plan and trial_plan")
    parser.add_argument("--no-trial", action="store_true", help="time and count build_plan only")
    arguments = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="iac-plan-")
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/db.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imsperm.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from accounts import iac
    from accounts.models import User

    call_command("migrate", verbosity=0)
    with contextlib.redirect_stdout(io.StringIO()):
        call_command("seed_demo", verbosity=0, password="bench-password-1")
    exported = json.loads(iac.export_text())
    admin = User.objects.get(username="admin")
    previous = None
    print(f"{'entries':>8} {'build s':>8} {'trial s':>8} {'queries':>8} {'lines':>10}   ratios to the previous size")
    for size in [int(s) for s in arguments.sizes.split(",")]:
        configuration = iac.parse_text(json.dumps(large_document(exported, size)))
        started = time.perf_counter()
        plan = iac.build_plan(configuration)
        built = time.perf_counter() - started
        assert not plan.errors, plan.errors[:3]
        if arguments.profile:
            import cProfile
            import pstats
            profile = cProfile.Profile()
            profile.runcall(iac.build_plan, configuration)
            pstats.Stats(profile).sort_stats("tottime").print_stats(15)
        started = time.perf_counter()
        queries: list[int] = []

        def counted(execute, sql, params, many, context, queries=queries):
            queries.append(1)
            return execute(sql, params, many, context)
        with connection.execute_wrapper(counted):
            trial = iac.build_plan(configuration) if arguments.no_trial else iac.trial_plan(configuration, actor=admin)
        tried = time.perf_counter() - started
        assert not trial.errors, trial.errors[:3]
        if arguments.profile and not arguments.no_trial:
            import cProfile
            import pstats
            profile = cProfile.Profile()
            profile.runcall(iac.trial_plan, configuration, actor=admin)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        lines = count_lines(iac.build_plan, configuration) if arguments.trace else 0
        row = (built, tried, len(queries), lines)
        ratios = "" if previous is None else "  ".join(
            f"{name} ×{now / before:.2f}" for name, now, before in zip(("build", "trial", "queries", "lines"),
                                                                       row, previous, strict=True) if before)
        print(f"{size:>8} {built:>8.2f} {tried:>8.2f} {len(queries):>8} {lines:>10}   {ratios}", flush=True)
        previous = row


if __name__ == "__main__":
    main()
