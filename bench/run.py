"""Benchmarks: each prints a ratio against a peer measured in the same run, never a bare time.

1. The evaluator on compiled documents vs. the same documents compiled on every request
   (what a naive engine does).
2. The authorization service with its caches (one stamp query per request, decisions from
   memory) vs. loading and compiling a user's grants for every decision.
3. Queries per image-list page for 10 vs. 50 rows and for 1 vs. 200 grants (must stay equal).
4. Wildcards: the glob matcher vs. the backtracking regex it replaced, on everyday patterns and
   as stars are added; the editor's validator endpoint on worst-case 6,144-character documents
   vs. a one-line document.

Runs on a throw-away in-memory SQLite database: `make bench` (or python bench/run.py).
"""

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


def crowded_user():
    """A user in 10 groups of 20 grants each (the peer of a user with one grant)."""
    from accounts.models import Grant, Membership, Policy, User, UserGroup

    user = User.objects.create_user("crowded", password="x")
    policies = Policy.objects.bulk_create(
        Policy(name=f"bench-{i}", document={"Version": "1.1", "Statement": [
            {"Effect": "Allow", "Action": ["ims:images:*", "ims:*:get*"]},
            {"Effect": "Deny", "Action": ["ims:images:delete"],
             "Condition": {"StringEquals": {"ims:ResourceTag/env": [f"frozen-{i}"]}}}]}) for i in range(200))
    for g in range(10):
        group = UserGroup.objects.create(name=f"bench-group-{g}")
        Membership.objects.create(user=user, group=group)
        chunk = policies[g * 20:(g + 1) * 20]
        Grant.objects.bulk_create(Grant(group=group, policy=p, all_resources=True) for p in chunk)
    return user


def more_images(count):
    from accounts.models import Project
    from images.models import Image, ImageTag

    project = Project.objects.get(name="cn-north-4")
    images = Image.objects.bulk_create(Image(name=f"bench-{i:04d}", project=project, status="active")
                                       for i in range(count))
    ImageTag.objects.bulk_create(ImageTag(image=image, key="env", value="prod") for image in images)


def bench_list_page():
    from django.test import Client
    from django.urls import reverse

    from accounts.models import User

    more_images(300)
    url = reverse("images:list")
    people = {"1 grant": User.objects.get(username="ims-admin"), "200 grants": crowded_user()}
    print("image list page, cn-north-4 with 300+ private images")
    rows = {}
    for label, user in people.items():
        client = Client()
        client.force_login(user)
        for size in (10, 50):
            page = f"{url}?project=cn-north-4&size={size}"
            assert client.get(page).status_code == 200
            with CaptureQueriesContext(connection) as queries:
                response = client.get(page)
            assert response.status_code == 200 and response.content.count(b"data-image-id=") >= size
            rows[(label, size)] = (len(queries), best_of(lambda p=page, c=client: c.get(p)))
            count, seconds = rows[(label, size)]
            print(f"  {label:>10}, {size} rows: {count:3d} queries, {seconds * 1e3:7.1f} ms")
    base_q, base_t = rows[("1 grant", 10)]
    for key, (count, seconds) in rows.items():
        if key != ("1 grant", 10):
            print(f"  ratio {key[0]}, {key[1]} rows vs 1 grant, 10 rows: queries {count / base_q:.2f}, "
                  f"time {seconds / base_t:.2f}")


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
    call_command("migrate", verbosity=0)
    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", stdout=quiet)
    bench_evaluator()
    bench_service()
    import decisions  # bench/decisions.py: decision_us and its peers, as a dict of figures

    decisions.run()
    bench_list_page()
    bench_wildcards()
    bench_validator_endpoint()


if __name__ == "__main__":
    main()
