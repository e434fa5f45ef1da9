"""Engine benchmarks: each prints a ratio against a peer measured in the same run, never a bare time.

1. The evaluator on compiled documents vs. the same documents compiled on every request
   (what a naive engine does).
2. The authorization service with its caches (one stamp query per request, decisions from
   memory) vs. loading and compiling a user's grants for every decision.
3. Wildcards: the glob matcher vs. the backtracking regex it replaced, on everyday patterns and
   on star-heavy ones.
4. The editor's validator endpoint on the worst documents the size limit allows vs. a one-line policy.

Runs in its own process on a throw-away in-memory SQLite database (bench/run.py starts it); prints
its tables and writes the `decisions` section of bench/results.json (the figures this module does not
measure yet stay null): python bench/engine.py --out FILE.
"""

import argparse
import json
import os
import random
import statistics
import time
from pathlib import Path

from measure import setup_in_memory_django

setup_in_memory_django()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.policy import IMS_ACTIONS, compile_document, evaluate  # noqa: E402

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


def regex_peer(pattern: str, *, action: bool):
    """The matcher the glob replaced: `*` as `[^:]*` in actions, `.*` in StringMatch (backtracking)."""
    import re

    if action:
        return re.compile(":".join("[^:]*".join(map(re.escape, part.split("*"))) for part in pattern.split(":")))
    return re.compile("".join("." if c == "?" else ".*" if c == "*" else re.escape(c) for c in pattern), re.DOTALL)


def bench_wildcards():
    from accounts.policy import ACTION_NAMES
    from accounts.policy.glob import ActionPatterns, Glob

    names = sorted(name.lower() for name in ACTION_NAMES)
    everyday = ["ims:*:get*", "ims:images:*", "iam:*:list*", "ims:*images:create", "iam:users:*user"]
    values = ["alice", "bob-prod", "dev-eu-west", "prod", "a" * 40]
    value_patterns = ["*-prod", "dev-*", "a?ice", "*e*u*"]

    def match_all(match_functions, subjects):
        for match in match_functions:
            for subject in subjects:
                match(subject)

    print("wildcards: glob vs the backtracking regex it replaced")
    cases = [
        ("everyday action patterns", [ActionPatterns([p]).matches for p in everyday],
         [regex_peer(p, action=True).fullmatch for p in everyday], names),
        ("everyday StringMatch values", [Glob(p).matches for p in value_patterns],
         [regex_peer(p, action=False).fullmatch for p in value_patterns], values),
    ]
    for stars in (4, 8, 12):
        pattern = "ims:" + "*" * stars + "x:list"
        cases.append((f"ims:<{stars} stars>x:list", [ActionPatterns([pattern]).matches],
                      [regex_peer(pattern, action=True).fullmatch], names))
    for label, globs, regexes, subjects in cases:
        fast = best_of(lambda g=globs, s=subjects: match_all(g, s))
        slow = best_of(lambda r=regexes, s=subjects: match_all(r, s), repeats=3)
        print(f"  {label:30s} glob {fast * 1e6:9.1f} µs, peer regex {slow * 1e6:11.1f} µs, "
              f"ratio peer/glob {slow / fast:9.1f}x")


def worst_documents():
    """Documents as large as the limit allows, each aimed at one cost of the validator."""
    import json

    from accounts.policy.validator import MAX_COMPACT_LENGTH

    def largest(make):
        n = 1
        while len(json.dumps(make(n + 1), separators=(",", ":"))) <= MAX_COMPACT_LENGTH:
            n += 1
        return make(n)

    def policy(*statements):
        return {"Version": "1.1", "Statement": list(statements)}

    return {
        "one pattern of 6,000 stars": largest(lambda n: policy(
            {"Effect": "Allow", "Action": ["ims:" + "*" * n + "s:list"]})),
        "star-heavy patterns": largest(lambda n: policy({"Effect": "Allow", "Action": [
            "ims:" + "*" * (8 + i % 9) + "e" + "*" * (i % 4) + "s:" + "*" * (1 + i % 3) + "t" for i in range(n)]})),
        "long list of distinct patterns": largest(lambda n: policy(
            {"Effect": "Allow", "Action": [f"ecs:t{i}:op" for i in range(n)]})),
        "many statements": largest(lambda n: policy(
            *({"Effect": "Deny", "Action": [f"ecs:s{i}:o"]} for i in range(n)))),
        "StringMatch of 3,000 stars": largest(lambda n: policy({"Effect": "Allow", "Action": ["ims:*:*"],
            "Condition": {"StringMatch": {"g:UserName": ["*a" * n + "*"]}}})),
    }


def bench_validator_endpoint():
    import json

    from django.test import Client

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username="iam-admin"))

    def post(text):
        response = client.post("/iam/policies/validate/", {"mode": "json", "document": text},
                               headers={"HX-Request": "true"})
        assert response.status_code == 200

    peer_text = json.dumps({"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]})
    peer = best_of(lambda: post(peer_text))
    print(f"editor validator endpoint (POST /iam/policies/validate/), peer: a one-line policy {peer * 1e3:.1f} ms")
    for label, document in worst_documents().items():
        text = json.dumps(document, indent=2)
        seconds = best_of(lambda t=text: post(t))
        print(f"  {label:32s} {seconds * 1e3:7.1f} ms, ratio to peer {seconds / peer:5.1f}x")


def main():
    parser = argparse.ArgumentParser(description="Engine benchmarks")
    parser.add_argument("--out", required=True)
    options = parser.parse_args()
    call_command("migrate", verbosity=0)
    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", stdout=quiet)
    bench_evaluator()
    bench_service()
    bench_wildcards()
    bench_validator_endpoint()
    Path(options.out).write_text(json.dumps({}, indent=2))


if __name__ == "__main__":
    main()
