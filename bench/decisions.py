"""Decisions: one decision for a crowded user against the peers people would use instead.

- `decision_us`: median µs of one decision for a user in 10 groups × 20 grants (custom policies of
  several statements, some with conditions, half scoped to projects), over what an image-list page
  of 50 rows asks (each row's image actions, the page's project actions, the menu's IAM actions),
  warm (grants compiled), a fresh request each time; `decision_us_2_grants` the same for 2 grants.
- `vs_pycasbin`, `vs_pycasbin_fast`: pycasbin's `Enforcer` and `FastEnforcer` on its own published
  "RBAC small" benchmark (tests/benchmarks/benchmark_model.py: 100 roles, 1,000 users, 10 objects,
  `enforce("user501", "data9", "read")`), µs per call divided by ours (higher is better for us).
- `table_vs_plain`: the plain path (the evaluator over every covering grant, as the service decided
  before the decision table) divided by the table, same user, same requests.
- `authorizer_cold_queries`: queries to decide once for the crowded user with nothing cached.
- `authz_share`: the share of the image-list page (50 rows, `django.test.Client`) that the crowded
  user's page spends in the authorization service (its decisions and the stamp check).

- `decision_us_conditional`: median µs of one decision for the conditioned crowded user
  (bench/conditional.py: 10 groups × 20 grants, 60% of the 200 statements conditioned on image tags,
  OS, platform, time, address or MFA), cycling over 2,000 images × 3 actions, 50 images a page, a
  fresh request (time, address, MFA) each page; `vs_casbin_conditional` divides pycasbin's
  FastEnforcer (RBAC small, above) by it, `vs_cedar` divides Cedar's (`cedarpy`, the same 200
  statements as Cedar policies with `when` conditions, policy set and entities parsed once) by it.
  Every one of the 6,000 decisions is checked against the plain evaluator and against Cedar first.

`--profile PAGES` shows instead where a conditional page's time goes (cProfile).

Variants are interleaved round by round, each turn a few milliseconds; each figure is a median over
the rounds of the wall clock; `cpu_us` gives each variant's median on this process's CPU clock too
(on a busy machine the wall clock also counts the time spent waiting for a core).
Run alone with `python bench/decisions.py`, or through `make bench`.
"""

import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROUNDS = 31
# Each variant's turn lasts a few milliseconds at most, so that on a busy machine a long turn is not
# interrupted more often than a short one (interleaving evens out the rest).
CASBIN_CALLS = 20
CEDAR_CALLS = 5  # Cedar decisions per turn, cycling over the conditional pages' requests
CONDITIONAL_PAGES = 1  # conditional pages per turn (150 decisions), cycling over the 40 pages
ROWS = 50
MENU_ACTIONS = ("iam:users:listUsers", "iam:groups:listGroups", "iam:roles:listRoles", "iam:audit:listEvents",
                "iam:users:deleteUser", "iam:permissions:grantPermission")
PAGE_ACTIONS = ("ims:images:list", "ims:images:create", "ims:quotas:get")
CASBIN_RBAC_MODEL = """\
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act
"""


def custom_document(i: int) -> dict:
    """One of four shapes of custom policy, each text distinct (so conditions are never shared)."""
    shape = i % 4
    if shape == 0:
        statements = [
            {"Effect": "Allow", "Action": ["ims:*:get*", "ims:*:list*"]},
            {"Effect": "Allow", "Action": ["ims:images:update", "ims:images:upload"]},
            {"Effect": "Deny", "Action": ["ims:images:delete"],
             "Condition": {"StringEquals": {"ims:ResourceTag/env": ["prod", f"frozen-{i}"]}}},
        ]
    elif shape == 1:
        statements = [
            {"Effect": "Allow", "Action": ["ims:images:*"]},
            {"Effect": "Deny", "Action": ["ims:images:share"]},
            {"Effect": "Allow", "Action": [f"ecs:servers{i}:list"]},
        ]
    elif shape == 2:
        statements = [
            {"Effect": "Allow", "Action": ["iam:*:list*", "iam:*:get*"]},
            {"Effect": "Deny", "Action": ["iam:users:deleteUser", "iam:groups:deleteGroup"],
             "Condition": {"Bool": {"g:MFAPresent": ["false"]}}},
            {"Effect": "Allow", "Action": [f"obs:buckets{i}:get"]},
        ]
    else:
        statements = [
            {"Effect": "Allow", "Action": ["ims:images:export", "ims:images:copy"],
             "Condition": {"StringEquals": {"ims:OsType": ["Linux"]}, "StringNotEquals": {"g:UserName": [f"x{i}"]}}},
            {"Effect": "Allow", "Action": ["ims:quotas:get", "ims:images:list"]},
            {"Effect": "Deny", "Action": [f"kms:keys{i}:delete"]},
        ]
    return {"Version": "1.1", "Statement": statements}


def make_users():
    """The crowded user (10 groups × 20 grants) and a user with 2 grants, in the database."""
    from accounts.models import Grant, Membership, Policy, Project, User, UserGroup

    projects = list(Project.objects.order_by("name"))
    system = list(Policy.objects.filter(is_system=True, kind=Policy.Kind.POLICY).order_by("name"))
    custom = Policy.objects.bulk_create(
        Policy(name=f"decisions-{i}", document=custom_document(i)) for i in range(40)
    )
    crowded = User.objects.create_user("decisions-crowded", password="x")
    for g in range(10):
        group = UserGroup.objects.create(name=f"decisions-group-{g}")
        Membership.objects.create(user=crowded, group=group)
        chosen = [*system[: g % 3], *custom[g * 4:]][:20]
        if len(chosen) < 20:
            chosen += [p for p in custom[: g * 4] if p not in chosen][: 20 - len(chosen)]
        for j, policy in enumerate(chosen):
            grant = Grant.objects.create(group=group, policy=policy, all_resources=(g + j) % 2 == 0)
            if not grant.all_resources:
                grant.projects.set(projects[(g + j) % len(projects):][:1 + j % 3])
    small = User.objects.create_user("decisions-two-grants", password="x")
    group = UserGroup.objects.create(name="decisions-small")
    Membership.objects.create(user=small, group=group)
    Grant.objects.create(group=group, policy=system[-1], all_resources=True)
    Grant.objects.create(group=group, policy=custom[0]).projects.set(projects[:1])
    assert Grant.objects.filter(group__memberships__user=crowded).count() == 200
    return crowded, small


def page_requests():
    """What one image-list page asks: each row's image actions, the page's, the menu's."""
    from accounts.policy.catalogue import IMAGE_KEY_ACTIONS
    from images.models import Image

    images = list(Image.objects.select_related("project__region").prefetch_related("tags").order_by("pk")[:ROWS])
    asked = [(action, image.project, image) for image in images for action in sorted(IMAGE_KEY_ACTIONS)]
    asked += [(action, project, None) for project in {image.project for image in images} for action in PAGE_ACTIONS]
    asked += [(action, None, None) for action in MENU_ACTIONS]
    return asked


def plain_authorization_class():
    """The peer: the service as it decided before the decision table (evaluate() over covering grants)."""
    from accounts import authz
    from accounts.policy import SERVICES, evaluate, get_action
    from accounts.policy.catalogue import IMAGE_KEY_ACTIONS

    class PlainAuthorization(authz.Authorization):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._image_contexts = {}

        def decide(self, action, project=None, image=None, context=None):
            """As the service decided before the table: memoised per request without an image."""
            if image is None and context is None:
                key = (action, getattr(project, "name", project))
                memo = self._memo.get(key)
                if memo is None:
                    memo = self._memo[key] = self._decide(action, project, None, None)
                return memo
            return self._decide(action, project, image, context)

        def _decide(self, action, project, image, context):
            service = SERVICES[get_action(action).service]
            project_name = getattr(project, "name", project)
            if image is not None and project_name is None:
                project_name = image.project.name
            if not self.grants.is_active:
                return authz.Explanation(action, project_name, "implicit_deny")
            if self.grants.is_admin:
                return authz.Explanation(action, project_name, "allow", (authz.ADMIN_REASON,))
            image_keys = None
            if image is not None and action in IMAGE_KEY_ACTIONS:
                key = (image.pk, project_name)
                image_keys = self._image_contexts.get(key)
                if image_keys is None:
                    image_keys = self._image_contexts[key] = authz.image_context(image, project_name)
            request_context = authz.build_request_context(
                action, user_id=self.grants.user_id, username=self.grants.username, project=project,
                project_name=project_name, now=self.now, request_keys=self.request_context,
                image_keys=image_keys, extra=context)
            decision = evaluate(self.grants.covering(project_name, service.is_global), action, request_context)
            return authz.Explanation(action, project_name, decision.outcome, decision.matched, decision.missing_keys)

    return PlainAuthorization


def casbin_enforcers():
    """pycasbin's "RBAC small" benchmark, built as its tests/benchmarks/benchmark_model.py builds it."""
    import casbin

    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as model:
        model.write(CASBIN_RBAC_MODEL)
    try:
        enforcers = {"pycasbin": casbin.Enforcer(model.name),
                     "pycasbin_fast": casbin.FastEnforcer(model.name, cache_key_order=[1, 2])}
    finally:
        os.unlink(model.name)
    for enforcer in enforcers.values():
        enforcer.add_policies({("group" + str(i), "data" + str(int(i / 10)), "read") for i in range(100)})
        enforcer.add_grouping_policies({("user" + str(i), "group" + str(int(i / 10))) for i in range(1000)})
        assert enforcer.enforce("user501", "data5", "read") and not enforcer.enforce("user501", "data9", "read")
    return enforcers


def conditional_variants(plain) -> dict:
    """The conditioned crowded user's pages through the service and the same requests through Cedar,
    after checking that every decision agrees with the plain evaluator and with Cedar."""
    import conditional

    from accounts import authz

    user = conditional.make_user()
    pages = conditional.pages()
    grants = authz.load_grants(user, "bench")
    cedar, policies = conditional.cedar_authorizer(pages)
    assert policies == conditional.GROUPS * conditional.GRANTS_PER_GROUP
    outcomes = {}
    for number, page in enumerate(pages):
        keys = conditional.REQUEST_KEYS[number % len(conditional.REQUEST_KEYS)]
        now = datetime.now(UTC)
        table, peer = authz.Authorization(grants, now=now, request_context=keys), plain(grants, now=now,
                                                                                        request_context=keys)
        context = conditional.cedar_context(keys, now)
        for action, project, image in page:
            explanation = table.decide(action, project, image)
            assert explanation == peer.decide(action, project, image)
            assert explanation.allowed == cedar(action, image, context), (action, image.name, keys)
            outcomes[explanation.outcome] = outcomes.get(explanation.outcome, 0) + 1
    print(f"conditional: {sum(outcomes.values())} decisions agree with the plain evaluator and Cedar: {outcomes}")
    turn = {"page": 0, "cedar": 0}

    def table_pages():
        for _ in range(CONDITIONAL_PAGES):
            number = turn["page"] = (turn["page"] + 1) % len(pages)
            authorization = authz.Authorization(
                grants, request_context=conditional.REQUEST_KEYS[number % len(conditional.REQUEST_KEYS)])
            for action, project, image in pages[number]:
                authorization.decide(action, project, image)

    asked = [(number, request) for number, page in enumerate(pages) for request in page]

    def cedar_calls():
        now = datetime.now(UTC)  # a request's context, built once per page as ours is
        contexts = [conditional.cedar_context(keys, now) for keys in conditional.REQUEST_KEYS]
        for _ in range(CEDAR_CALLS):
            number, (action, _, image) = asked[turn["cedar"]]
            turn["cedar"] = (turn["cedar"] + 1) % len(asked)
            cedar(action, image, contexts[number % len(contexts)])

    return {"table, conditional": (table_pages, CONDITIONAL_PAGES * len(pages[0])),
            "cedar, conditional": (cedar_calls, CEDAR_CALLS)}


def cold_queries(user, project) -> int:
    """Queries for one decision with nothing cached: the stamp, then the user's grants."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts import authz
    from accounts.models import User

    authz._COMPILED_GRANTS.clear()
    fresh = User.objects.get(pk=user.pk)
    with CaptureQueriesContext(connection) as queries:
        authz.decide(fresh, "ims:images:list", project=project)
    return len(queries)


def authz_share(user, project) -> float:
    """Median share of an image-list page (50 rows) spent inside the authorization service."""
    from django.test import Client
    from django.urls import reverse

    from accounts import authz
    from images.models import Image, ImageTag

    missing = ROWS - Image.objects.filter(project=project, image_type="private").exclude(status="deleted").count()
    if missing > 0:
        images = Image.objects.bulk_create(
            Image(name=f"decisions-{i:03d}", project=project, status="active") for i in range(missing))
        ImageTag.objects.bulk_create(ImageTag(image=image, key="env", value=("prod", "dev")[i % 2])
                                     for i, image in enumerate(images))
    client = Client()
    client.force_login(user)
    url = f"{reverse('images:list')}?project={project.name}&size={ROWS}"
    inside = [0.0]
    depth = [0]

    def timed(function):
        def wrapper(*args, **kwargs):
            depth[0] += 1
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                depth[0] -= 1
                if not depth[0]:
                    inside[0] += time.perf_counter() - start
        return wrapper

    originals = {"decide": authz.Authorization.decide, "holds": authz.Authorization.holds,
                 "condition_keys_read": authz.Authorization.condition_keys_read}
    authorization_for = authz.authorization_for
    shares = []
    try:
        for name, function in originals.items():
            setattr(authz.Authorization, name, timed(function))
        authz.authorization_for = timed(authorization_for)
        assert client.get(url).content.count(b"data-image-id=") >= ROWS
        for _ in range(ROUNDS):
            inside[0] = 0.0
            start = time.perf_counter()
            assert client.get(url).status_code == 200
            shares.append(inside[0] / (time.perf_counter() - start))
    finally:
        for name, function in originals.items():
            setattr(authz.Authorization, name, function)
        authz.authorization_for = authorization_for
    return statistics.median(shares)


def ensure_database():
    """Standalone runs bring their own in-memory database; under bench/run.py it is already there."""
    from io import StringIO

    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Project

    if "accounts_grant" not in connection.introspection.table_names():
        call_command("migrate", verbosity=0)
    if not Project.objects.exists():
        call_command("seed_demo", stdout=StringIO())


def _check_same_answers(grants: dict, asked: list, plain) -> None:
    """Same answers both ways, or the comparison means nothing (the tests prove it in general)."""
    from accounts import authz

    for compiled in grants.values():
        now = datetime.now(UTC)
        table, peer = authz.Authorization(compiled, now=now), plain(compiled, now=now)
        assert [table.decide(*request) for request in asked] == [peer.decide(*request) for request in asked]


def _variants(grants: dict, asked: list, plain, conditional: dict) -> dict:
    """Every way measured, as label → (a page of decisions, how many decisions it makes): the table and
    the plain evaluator per user, pycasbin, and the conditional variants."""
    from accounts import authz

    def one_page(make, compiled):
        def page():
            authorization = make(compiled)
            for action, project, image in asked:
                authorization.decide(action, project, image)
        return page

    variants = {}
    for label, compiled in grants.items():
        variants[f"table, {label}"] = (one_page(authz.Authorization, compiled), len(asked))
        variants[f"plain, {label}"] = (one_page(plain, compiled), len(asked))
    for label, enforcer in casbin_enforcers().items():
        def enforce_many(enforcer=enforcer):
            for _ in range(CASBIN_CALLS):
                enforcer.enforce("user501", "data9", "read")
        variants[label] = (enforce_many, CASBIN_CALLS)
    variants.update(conditional)
    return variants


def _timed(variants: dict) -> tuple[dict, dict]:
    """Median µs per decision of each variant over ROUNDS interleaved rounds, after one warming round: on
    the wall clock, and on this process's CPU clock (what another process's load adds to the wall clock,
    waiting for a core, left out; printed beside the figures, kept as `cpu_us`)."""
    samples = {label: [] for label in variants}
    cpu_samples = {label: [] for label in variants}
    for function, _ in variants.values():
        function()  # warm: compile every cell the page asks for
    for _ in range(ROUNDS):
        for label, (function, calls) in variants.items():
            start, cpu_start = time.perf_counter(), time.process_time()
            function()
            cpu_samples[label].append((time.process_time() - cpu_start) / calls * 1e6)
            samples[label].append((time.perf_counter() - start) / calls * 1e6)
    us = {label: statistics.median(values) for label, values in samples.items()}
    cpu_us = {label: statistics.median(values) for label, values in cpu_samples.items()}
    return us, cpu_us


def _figures(us: dict, cpu_us: dict, crowded, small, project) -> dict:
    """The figures kept in bench/results.json: times, their ratios, and the authorizer's cold queries."""
    return {
        "decision_us": round(us["table, crowded"], 2),
        "decision_us_2_grants": round(us["table, 2 grants"], 2),
        "crowded_vs_2_grants": round(us["table, crowded"] / us["table, 2 grants"], 2),
        "vs_pycasbin": round(us["pycasbin"] / us["table, crowded"], 1),
        "vs_pycasbin_fast": round(us["pycasbin_fast"] / us["table, crowded"], 1),
        "decision_us_conditional": round(us["table, conditional"], 2),
        "vs_casbin_conditional": round(us["pycasbin_fast"] / us["table, conditional"], 1),
        "vs_cedar": round(us["cedar, conditional"] / us["table, conditional"], 1),
        "table_vs_plain": round(us["plain, crowded"] / us["table, crowded"], 1),
        "table_vs_plain_2_grants": round(us["plain, 2 grants"] / us["table, 2 grants"], 1),
        "authorizer_cold_queries": cold_queries(crowded, project),
        "authorizer_cold_queries_2_grants": cold_queries(small, project),
        "authz_share": round(authz_share(crowded, project), 3),
        "cpu_us": {label: round(value, 2) for label, value in cpu_us.items()},
    }


def run() -> dict:
    """Measure, print a table, and return the figures."""
    from accounts import authz

    ensure_database()
    crowded, small = make_users()
    asked = page_requests()  # before the conditional user's images exist: the pages stay as they were
    plain = plain_authorization_class()
    conditional = conditional_variants(plain)
    grants = {label: authz.load_grants(user, "bench") for label, user in (("crowded", crowded), ("2 grants", small))}
    _check_same_answers(grants, asked, plain)
    us, cpu_us = _timed(_variants(grants, asked, plain, conditional))
    figures = _figures(us, cpu_us, crowded, small, project=asked[0][1])
    print(f"decisions: {len(asked)} per page ({ROWS} image rows, page and menu actions), "
          f"median of {ROUNDS} rounds, interleaved")
    for label, value in us.items():
        print(f"  {label:20s} {value:9.2f} µs/decision ({cpu_us[label]:.2f} µs of CPU)")
    for name, value in figures.items():
        if name != "cpu_us":
            print(f"  {name:32s} {value}")
    return figures


def profile_conditional(pages: int) -> None:
    """Where a conditional page's time goes (`--profile PAGES`): the conditioned crowded user's pages
    under cProfile, split into each image's row (its project and region), reading its keys, preparing
    each (action, project) for the request (its context, the table bound to it), and the rest (finding
    the row and the answer), then the functions that take longest."""
    import cProfile
    import pstats

    ensure_database()
    table_pages = conditional_variants(plain_authorization_class())["table, conditional"][0]
    for _ in range(40):
        table_pages()  # warm: every page once
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [table_pages() for _ in range(pages)])
    stats = pstats.Stats(profiler)
    cumulative = {function[2]: row[3] for function, row in stats.stats.items() if function[0].endswith("authz.py")}
    total = stats.total_tt
    parts = {"each image's row: project, region (_row)": cumulative.get("_row", 0.0),
             "each image's keys (_row_keys)": cumulative.get("_row_keys", 0.0),
             "each (action, project): context, binding (_entry)": cumulative.get("_entry", 0.0)}
    parts["each decision: row and answer looked up (the rest)"] = total - sum(parts.values())
    print(f"conditional pages under cProfile ({pages} pages, {pages * CONDITIONAL_PAGES * 150} decisions):")
    for label, seconds in parts.items():
        print(f"  {label:52s} {seconds / total:6.1%}")
    stats.sort_stats("tottime").print_stats(15)


def main():
    """Standalone (`python bench/decisions.py`) or under bench/run.py (`--out FILE`: the figures as JSON);
    `--profile PAGES` profiles the conditional pages instead of measuring."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description="Decision benchmarks")
    parser.add_argument("--out", default="")
    parser.add_argument("--profile", type=int, default=0, metavar="PAGES")
    options = parser.parse_args()
    from measure import setup_in_memory_django

    setup_in_memory_django()
    if options.profile:
        profile_conditional(options.profile)
        return
    figures = run()
    if options.out:
        Path(options.out).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
