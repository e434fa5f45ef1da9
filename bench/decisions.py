"""Decision benchmarks: each prints a ratio against a peer measured in the same run, never a bare time.

1. The evaluator on compiled documents vs. the same documents compiled on every request
   (what a naive engine does).
2. The authorization service with its caches (one stamp query per request, decisions from
   memory) vs. loading and compiling a user's grants for every decision.

Runs in its own process on a throw-away in-memory SQLite database (bench/run.py starts it); prints
its tables and writes the `decisions` section of bench/results.json (the figures this module does not
measure yet stay null): python bench/decisions.py --out FILE.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imsperm.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ["DATABASE_URL"] = "sqlite://:memory:"

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.policy import IMS_ACTIONS, compile_document, evaluate  # noqa: E402

settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
REPEATS = 5


def best_of(function, repeats=REPEATS):
    """Median of several runs, in seconds."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def random_documents(rng, count):
    keys = ["ims:ResourceTag/env", "ims:OsType", "g:UserName"]
    documents = []
    for _ in range(count):
        statements = []
        for _ in range(rng.randint(1, 4)):
            statement = {"Effect": rng.choice(["Allow", "Allow", "Deny"]),
                         "Action": rng.sample([a.name for a in IMS_ACTIONS] + ["ims:*:get*", "ims:images:*"], 3)}
            if rng.random() < 0.4:
                statement["Condition"] = {"StringEquals": {rng.choice(keys): [rng.choice(["prod", "dev", "Linux"])]}}
            statements.append(statement)
        documents.append({"Version": "1.1", "Statement": statements})
    return documents


def bench_evaluator():
    rng = random.Random(7)
    documents = random_documents(rng, 20)
    requests = [(rng.choice(IMS_ACTIONS).name, {"ims:ResourceTag/env": rng.choice(["prod", "dev"]),
                                                 "ims:OsType": "Linux", "g:UserName": "alice"}) for _ in range(2000)]
    compiled = [(i, compile_document(d)) for i, d in enumerate(documents)]

    def with_compiled():
        for action, context in requests:
            evaluate(compiled, action, context)

    def compile_every_request():
        for action, context in requests[:200]:
            evaluate([(i, compile_document(d)) for i, d in enumerate(documents)], action, context)

    fast = best_of(with_compiled) / len(requests)
    slow = best_of(compile_every_request) / 200
    print(f"evaluator: 20 policies, {len(requests)} requests")
    print(f"  compiled once:           {fast * 1e6:8.1f} µs/decision")
    print(f"  peer, compile per call:  {slow * 1e6:8.1f} µs/decision")
    print(f"  ratio peer/compiled:     {slow / fast:8.1f}x")


def bench_service():
    from accounts import authz
    from accounts.models import Project, User

    user = User.objects.get(username="developer")
    projects = list(Project.objects.all())
    actions = [a.name for a in IMS_ACTIONS]

    def one_request_cached():
        fresh = User.objects.get(pk=user.pk)  # a new request's user
        for project in projects:
            for action in actions:
                authz.decide(fresh, action, project=project)

    def one_request_uncached():
        for project in projects:
            for action in actions:
                authz.Authorization(authz.load_grants(user, "bench")).decide(action, project)

    one_request_cached()
    with CaptureQueriesContext(connection) as cached_queries:
        one_request_cached()
    with CaptureQueriesContext(connection) as uncached_queries:
        one_request_uncached()
    fast, slow = best_of(one_request_cached), best_of(one_request_uncached)
    decisions = len(projects) * len(actions)
    print(f"authorization service: {decisions} decisions per request (every IMS action x every project)")
    print(f"  cached (stamp check + memory): {fast * 1e3:7.2f} ms, {len(cached_queries)} queries")
    print(f"  peer, load per decision:       {slow * 1e3:7.2f} ms, {len(uncached_queries)} queries")
    print(f"  ratio peer/cached:             {slow / fast:7.1f}x")


DECISION_FIGURES = ("decision_us", "vs_pycasbin", "vs_pycasbin_fast", "authorizer_cold_queries", "authz_share")


def main():
    parser = argparse.ArgumentParser(description="Decision benchmarks")
    parser.add_argument("--out", required=True)
    options = parser.parse_args()
    call_command("migrate", verbosity=0)
    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", stdout=quiet)
    bench_evaluator()
    bench_service()
    Path(options.out).write_text(json.dumps(dict.fromkeys(DECISION_FIGURES), indent=2))


if __name__ == "__main__":
    main()
