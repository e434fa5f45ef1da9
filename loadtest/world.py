"""The load test's world and its verdict, run against the deployment's database.

    python loadtest/world.py prepare WORLD.json          accounts, groups, grants and images for the personas
    python loadtest/world.py verify WORLD.json JOURNAL   the checks, as JSON on standard output

`verify` reads the journal locust wrote (one line per write or refusal attempt, with its send and
answer times) and checks the database: every acknowledged write is there, nothing refused
happened, nothing was allowed after its grant's revocation was acknowledged, and the audit log
holds one event per acknowledged write and per refusal.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imsperm.settings")

import django

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db.models import Sum  # noqa: E402

from accounts import authz, services  # noqa: E402
from accounts.models import AuditEvent, Grant, Membership, Policy, Project, User, UserGroup  # noqa: E402
from images.models import Image  # noqa: E402

PASSWORD = "imsperm-load"
FLAP_PROJECT = "eu-west-101"
WRITER_PROJECTS = ["cn-north-4", "ap-southeast-1", "eu-west-101", "cn-north-4_dev"]
SENTINELS = 10
FLAP_POLICY = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:update"]}]}
ALLOWED_STATUSES = {200, 302}
UNAVAILABLE = {0, 503}  # no answer, or "try again" (make faulttest): neither is a refusal
WRITE_ACTIONS = ["ims:serverImages:create", "ims:images:upload", "ims:images:update", "ims:images:delete",
                 "iam:permissions:grantPermission", "iam:permissions:revokePermission"]


def _accounts(prefix: str, count: int, group: UserGroup, password_hash: str) -> list[str]:
    names = [f"{prefix}-{n:02d}" for n in range(1, count + 1)]
    User.objects.bulk_create([User(username=name, password=password_hash) for name in names])
    Membership.objects.bulk_create([Membership(user=user, group=group)
                                    for user in User.objects.filter(username__in=names)])
    return names


def prepare(world_path: str, users: int) -> None:
    """Readers (IMS ReadOnlyAccess), writers (IMS FullAccess), one flapper whose update grant the
    administrator attaches and detaches, sentinel images only refused requests aim at."""
    password_hash = make_password(PASSWORD)  # hashed once: the accounts share it
    viewers = UserGroup.objects.get(name="viewers")
    writers = UserGroup.objects.create(name="load-writers", description="Load test writers")
    flappers = UserGroup.objects.create(name="load-flappers", description="Load test: update flaps")
    read_only, full = Policy.objects.get(name="IMS ReadOnlyAccess"), Policy.objects.get(name="IMS FullAccess")
    flap_project = Project.objects.get(name=FLAP_PROJECT)
    services.grant_attach(actor=None, group=writers, policies=[full], all_resources=True)
    services.grant_attach(actor=None, group=flappers, policies=[read_only], all_resources=False,
                          projects=[flap_project])
    flap_policy = services.policy_create(actor=None, name="load-flap-update", document=FLAP_POLICY)
    readers = _accounts("load-reader", users, viewers, password_hash)
    writer_names = _accounts("load-writer", users, writers, password_hash)
    flapper = _accounts("load-flapper", 1, flappers, password_hash)[0]
    sentinels = [Image.objects.create(name=f"load-sentinel-{n:02d}", description="sentinel", project=flap_project,
                                      status=Image.Status.ACTIVE) for n in range(1, SENTINELS + 1)]
    target = Image.objects.create(name="load-flap-target", description="start", project=flap_project,
                                  status=Image.Status.ACTIVE)
    authz.bump_stamp()
    world = {
        "password": PASSWORD,
        "admin": {"username": "admin", "password": "imsperm-demo"},
        "readers": readers,
        "writers": writer_names,
        "writer_projects": WRITER_PROJECTS,
        "flapper": flapper,
        "flap": {"group": flappers.pk, "policy": flap_policy.pk, "project": flap_project.pk,
                 "project_name": FLAP_PROJECT, "image": str(target.pk), "revision": target.revision},
        "sentinels": [str(image.pk) for image in sentinels],
        "browse": [str(pk) for pk in Image.objects.exclude(status=Image.Status.DELETED)
                   .exclude(name__startswith="load-").values_list("pk", flat=True)[:60]],
        "search_terms": ["ubuntu", "centos", "lamp", "windows", "dev", "public", "zz-no-match"],
    }
    Path(world_path).write_text(json.dumps(world, indent=1))


def _windows(admin_ops):
    """(start, end) spans in which the flap grant is certainly detached: from a detach's answer (or
    the start) to the next attach's sending; and certainly attached, the other way round."""
    detached, attached, since, state = [], [], float("-inf"), "detached"
    for op in admin_ops:
        if op["status"] not in ALLOWED_STATUSES:
            continue  # not acknowledged: its effect is unknown, so the span around it is not judged
        (detached if state == "detached" else attached).append((since, op["t0"]))
        state, since = ("attached" if op["op"] == "attach" else "detached"), op["t1"]
    (detached if state == "detached" else attached).append((since, float("inf")))
    return detached, attached


def verify(world_path: str, journal_path: str) -> dict:
    world = json.loads(Path(world_path).read_text())
    journal = [json.loads(line) for line in Path(journal_path).read_text().splitlines() if line.strip()]
    problems: dict[str, list] = defaultdict(list)

    # 1. Every acknowledged write is in the database (writers' images: their last acknowledged state).
    by_image = defaultdict(list)
    for entry in journal:
        if entry["persona"] == "writer" and entry.get("image"):
            by_image[entry["image"]].append(entry)
    unacknowledged = sum(1 for e in journal if e["status"] not in ALLOWED_STATUSES and e["status"] != 403)
    for image_id, entries in by_image.items():
        acked = [e for e in entries if e["status"] in ALLOWED_STATUSES]
        image = Image.objects.filter(pk=image_id).first()
        if any(e["op"] == "delete" for e in acked):
            if image is not None:
                problems["lost_writes"].append(f"{image_id}: delete acknowledged, image still there")
            continue
        if image is None:
            problems["lost_writes"].append(f"{image_id}: created, never deleted, missing")
            continue
        modifies = [e for e in acked if e["op"] == "modify"]
        if modifies and image.description != modifies[-1]["token"]:
            problems["lost_writes"].append(f"{image_id}: description {image.description!r}, "
                                           f"last acknowledged {modifies[-1]['token']!r}")
        if any(e["op"] == "upload" for e in acked) and image.status != Image.Status.ACTIVE:
            problems["lost_writes"].append(f"{image_id}: upload acknowledged, status {image.status}")
    flap_writes = [e for e in journal if e["persona"] == "flapper"]
    acked_flaps = [e for e in flap_writes if e["status"] in ALLOWED_STATUSES]
    target = Image.objects.get(pk=world["flap"]["image"])
    if acked_flaps and target.description != acked_flaps[-1]["token"]:
        problems["lost_writes"].append(f"flap target: {target.description!r}, last acknowledged "
                                       f"{acked_flaps[-1]['token']!r}")
    admin_ops = sorted((e for e in journal if e["persona"] == "admin"), key=lambda e: e["t0"])
    acked_admin = [e for e in admin_ops if e["status"] in ALLOWED_STATUSES]
    attached_now = Grant.objects.filter(group_id=world["flap"]["group"], policy_id=world["flap"]["policy"]).exists()
    if acked_admin and attached_now != (acked_admin[-1]["op"] == "attach"):
        problems["lost_writes"].append(f"flap grant attached={attached_now}, last acknowledged {acked_admin[-1]['op']}")

    # 2. Nothing that was refused happened.
    refused_tokens = {e["token"] for e in journal if e["status"] == 403 and e.get("token")}
    changed = Image.objects.filter(description__in=refused_tokens).values_list("pk", flat=True)
    problems["refused_but_done"] += [f"{pk}: holds a refused description" for pk in changed]
    sentinels = Image.objects.filter(pk__in=world["sentinels"])
    if sentinels.count() != len(world["sentinels"]):
        problems["refused_but_done"].append(f"{len(world['sentinels']) - sentinels.count()} sentinel images gone")
    problems["refused_but_done"] += [f"{s.pk}: sentinel modified" for s in sentinels if s.description != "sentinel"]

    # 3. No request allowed after its grant's revocation was acknowledged (and none refused after an attach).
    detached, attached = _windows(admin_ops)
    judged = Counter()
    for entry in flap_writes:
        inside = lambda spans, e=entry: any(start < e["t0"] and e["t1"] < end for start, end in spans)  # noqa: E731
        if inside(detached):
            judged["after_revocation"] += 1
            if entry["status"] in ALLOWED_STATUSES:
                problems["stale_allows"].append(entry)
        elif inside(attached):
            judged["after_grant"] += 1
            if entry["status"] not in ALLOWED_STATUSES and entry["status"] not in UNAVAILABLE:
                problems["stale_denies"].append(entry)

    # 4. One audit event per acknowledged write, and per refusal (repeats are counted on one event).
    allowed = Counter()
    actors = [*world["readers"], *world["writers"], world["flapper"], world["admin"]["username"]]
    for event in AuditEvent.objects.filter(outcome=AuditEvent.Outcome.ALLOWED, actor__username__in=actors,
                                           action__in=WRITE_ACTIONS).values("actor__username", "action", "target_id"):
        allowed[(event["actor__username"], event["action"], event["target_id"])] += 1
    expected = Counter()
    for entry in journal:
        if entry["status"] in ALLOWED_STATUSES and entry.get("audit_action"):
            expected[(entry["user"], entry["audit_action"], entry["audit_target"])] += 1
    # A write whose answer never came (status 0: a killed worker, a dropped connection) may have been
    # done or not: it may add one event, no more (make faulttest kills workers mid-request).
    unanswered = Counter((e["user"], e.get("audit_action"), e.get("audit_target")) for e in journal
                         if e["status"] == 0)
    for key in [k for k in allowed if not expected[k] and k[1] == "ims:serverImages:create"]:
        unanswered[key] += unanswered.pop((key[0], key[1], None), 0)  # a create's image is known from its answer
    for key in expected.keys() | allowed.keys():
        if not expected[key] <= allowed[key] <= expected[key] + unanswered[key]:
            problems["audit_writes"].append(f"{key}: {allowed[key]} events for {expected[key]} acknowledged writes")
    refusals = Counter((e["user"], e["audit_action"]) for e in journal if e["status"] == 403)
    # A refusal is recorded before its page is drawn: answered 503 (a part went down meanwhile) or never
    # answered, it may be counted or not.
    unanswered_refusals = Counter((e["user"], e["audit_action"]) for e in journal
                                  if e["status"] in UNAVAILABLE)
    denied_events = AuditEvent.objects.filter(outcome=AuditEvent.Outcome.DENIED, actor__username__in=actors)
    denied = {(row["actor__username"], row["action"]): row["n"]
              for row in denied_events.values("actor__username", "action").annotate(n=Sum("repeat_count"))}
    for key in refusals.keys() | denied.keys():
        if not refusals.get(key, 0) <= denied.get(key, 0) <= refusals.get(key, 0) + unanswered_refusals[key]:
            problems["audit_refusals"].append(f"{key}: {denied.get(key, 0)} counted, {refusals.get(key, 0)} refused")

    writes = [e for e in journal if e["status"] in ALLOWED_STATUSES]
    return {
        "journal": {"attempts": len(journal), "acknowledged_writes": len(writes),
                    "refusals": sum(1 for e in journal if e["status"] == 403), "unacknowledged": unacknowledged,
                    "flap_cycles": sum(1 for e in acked_admin if e["op"] == "detach"),
                    "flapper_requests_judged": dict(judged)},
        "checks": {name: len(problems[name]) for name in
                   ("lost_writes", "refused_but_done", "stale_allows", "stale_denies", "audit_writes",
                    "audit_refusals")},
        "problems": {name: items[:10] for name, items in problems.items() if items},
    }


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2], int(os.environ.get("LOADTEST_USERS", "20")))
    else:
        print(json.dumps(verify(sys.argv[2], sys.argv[3]), default=str))
