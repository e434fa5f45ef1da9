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
from dataclasses import dataclass
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


@dataclass
class Run:
    """What every check reads: the world prepared, the journal locust wrote, and views of it several
    checks share (the flapper's requests, the administrator's flips in sending order)."""

    world: dict
    journal: list[dict]
    flap_writes: list[dict]
    admin_ops: list[dict]
    acked_admin: list[dict]
    actors: list[str]


def read_run(world_path: str, journal_path: str) -> Run:
    """The world and the journal, read once for all the checks."""
    world = json.loads(Path(world_path).read_text())
    journal = [json.loads(line) for line in Path(journal_path).read_text().splitlines() if line.strip()]
    admin_ops = sorted((e for e in journal if e["persona"] == "admin"), key=lambda e: e["t0"])
    return Run(world=world, journal=journal, flap_writes=[e for e in journal if e["persona"] == "flapper"],
               admin_ops=admin_ops, acked_admin=[e for e in admin_ops if acknowledged(e)],
               actors=[*world["readers"], *world["writers"], world["flapper"], world["admin"]["username"]])


def acknowledged(entry: dict) -> bool:
    return entry["status"] in ALLOWED_STATUSES


def _image_lost_writes(image_id: str, acked: list[dict]) -> list[str]:
    """One writer's image against its acknowledged writes: a step of its own because a delete, a
    modify and an upload each leave a different trace to look for."""
    image = Image.objects.filter(pk=image_id).first()
    if any(e["op"] == "delete" for e in acked):
        return [f"{image_id}: delete acknowledged, image still there"] if image is not None else []
    if image is None:
        return [f"{image_id}: created, never deleted, missing"]
    lost = []
    modifies = [e for e in acked if e["op"] == "modify"]
    if modifies and image.description != modifies[-1]["token"]:
        lost.append(f"{image_id}: description {image.description!r}, last acknowledged {modifies[-1]['token']!r}")
    if any(e["op"] == "upload" for e in acked) and image.status != Image.Status.ACTIVE:
        lost.append(f"{image_id}: upload acknowledged, status {image.status}")
    return lost


def writer_images_kept(run: Run):
    """1a. Every acknowledged write of a writer is in the database: each image in its last acknowledged state."""
    by_image = defaultdict(list)
    for entry in run.journal:
        if entry["persona"] == "writer" and entry.get("image"):
            by_image[entry["image"]].append(entry)
    for image_id, entries in by_image.items():
        for problem in _image_lost_writes(image_id, [e for e in entries if acknowledged(e)]):
            yield "lost_writes", problem


def flap_target_kept(run: Run):
    """1b. The flapper's image holds its last acknowledged description, or that of a save sent after it whose
    answer never came (status 0: a killed worker; it may go either way). The flapper saves one at a time."""
    acked_flaps = [e for e in run.flap_writes if acknowledged(e)]
    if not acked_flaps:
        return
    last = acked_flaps[-1]
    either_way = {e["token"] for e in run.flap_writes if e["status"] == 0 and e["t0"] > last["t0"]}
    target = Image.objects.get(pk=run.world["flap"]["image"])
    if target.description != last["token"] and target.description not in either_way:
        yield "lost_writes", f"flap target: {target.description!r}, last acknowledged {last['token']!r}"


def flap_grant_kept(run: Run):
    """1c. The flap grant is attached exactly when the administrator's last acknowledged flip attached it."""
    flap = run.world["flap"]
    attached_now = Grant.objects.filter(group_id=flap["group"], policy_id=flap["policy"]).exists()
    if run.acked_admin and attached_now != (run.acked_admin[-1]["op"] == "attach"):
        yield "lost_writes", f"flap grant attached={attached_now}, last acknowledged {run.acked_admin[-1]['op']}"


def refused_not_done(run: Run):
    """2. Nothing that was refused happened: no refused description anywhere, the sentinels untouched."""
    refused_tokens = {e["token"] for e in run.journal if e["status"] == 403 and e.get("token")}
    changed = Image.objects.filter(description__in=refused_tokens).values_list("pk", flat=True)
    for pk in changed:
        yield "refused_but_done", f"{pk}: holds a refused description"
    expected = run.world["sentinels"]
    sentinels = Image.objects.filter(pk__in=expected)
    if sentinels.count() != len(expected):
        yield "refused_but_done", f"{len(expected) - sentinels.count()} sentinel images gone"
    for sentinel in sentinels:
        if sentinel.description != "sentinel":
            yield "refused_but_done", f"{sentinel.pk}: sentinel modified"


def flapper_judged(run: Run):
    """The flapper's requests sent and answered wholly inside a span where the grant was certainly
    detached ("after_revocation") or attached ("after_grant"); the others are not judged."""
    detached, attached = _windows(run.admin_ops)
    for entry in run.flap_writes:
        def inside(spans, e=entry):
            return any(start < e["t0"] and e["t1"] < end for start, end in spans)
        if inside(detached):
            yield entry, "after_revocation"
        elif inside(attached):
            yield entry, "after_grant"


def decisions_current(run: Run):
    """3. No request allowed after its grant's revocation was acknowledged, none refused after an attach
    (an answer that never came, or a 503, is no refusal)."""
    for entry, span in flapper_judged(run):
        if span == "after_revocation" and acknowledged(entry):
            yield "stale_allows", entry
        elif span == "after_grant" and not acknowledged(entry) and entry["status"] not in UNAVAILABLE:
            yield "stale_denies", entry


def _allowed_write_events(actors: list[str]) -> Counter:
    """The audit log's allowed write events of the load test's accounts, by (user, action, target)."""
    allowed = Counter()
    for event in AuditEvent.objects.filter(outcome=AuditEvent.Outcome.ALLOWED, actor__username__in=actors,
                                           action__in=WRITE_ACTIONS).values("actor__username", "action", "target_id"):
        allowed[(event["actor__username"], event["action"], event["target_id"])] += 1
    return allowed


def _unanswered_writes(journal: list[dict], allowed: Counter, expected: Counter) -> Counter:
    """A write whose answer never came (status 0: a killed worker, a dropped connection) may have been
    done or not: it may add one event, no more (make faulttest kills workers mid-request)."""
    unanswered = Counter((e["user"], e.get("audit_action"), e.get("audit_target")) for e in journal
                         if e["status"] == 0)
    for key in [k for k in allowed if not expected[k] and k[1] == "ims:serverImages:create"]:
        unanswered[key] += unanswered.pop((key[0], key[1], None), 0)  # a create's image is known from its answer
    return unanswered


def audit_writes_counted(run: Run):
    """4a. One audit event per acknowledged write."""
    allowed = _allowed_write_events(run.actors)
    expected = Counter((e["user"], e["audit_action"], e["audit_target"]) for e in run.journal
                       if acknowledged(e) and e.get("audit_action"))
    unanswered = _unanswered_writes(run.journal, allowed, expected)
    for key in expected.keys() | allowed.keys():
        if not expected[key] <= allowed[key] <= expected[key] + unanswered[key]:
            yield "audit_writes", f"{key}: {allowed[key]} events for {expected[key]} acknowledged writes"


def audit_refusals_counted(run: Run):
    """4b. One audit event per refusal (repeats are counted on one event)."""
    refusals = Counter((e["user"], e["audit_action"]) for e in run.journal if e["status"] == 403)
    # A refusal is recorded before its page is drawn: answered 503 (a part went down meanwhile) or never
    # answered, it may be counted or not.
    unanswered_refusals = Counter((e["user"], e["audit_action"]) for e in run.journal
                                  if e["status"] in UNAVAILABLE)
    denied_events = AuditEvent.objects.filter(outcome=AuditEvent.Outcome.DENIED, actor__username__in=run.actors)
    denied = {(row["actor__username"], row["action"]): row["n"]
              for row in denied_events.values("actor__username", "action").annotate(n=Sum("repeat_count"))}
    for key in refusals.keys() | denied.keys():
        if not refusals.get(key, 0) <= denied.get(key, 0) <= refusals.get(key, 0) + unanswered_refusals[key]:
            yield "audit_refusals", f"{key}: {denied.get(key, 0)} counted, {refusals.get(key, 0)} refused"


# The checks, in the order they run; each yields (the report's check name, one problem found).
CHECKS = (writer_images_kept, flap_target_kept, flap_grant_kept, refused_not_done, decisions_current,
          audit_writes_counted, audit_refusals_counted)
CHECK_NAMES = ("lost_writes", "refused_but_done", "stale_allows", "stale_denies", "audit_writes", "audit_refusals")


def journal_summary(run: Run) -> dict:
    """How much the run tried, had acknowledged, was refused, and how much of the flapper's was judged."""
    return {"attempts": len(run.journal), "acknowledged_writes": sum(1 for e in run.journal if acknowledged(e)),
            "refusals": sum(1 for e in run.journal if e["status"] == 403),
            "unacknowledged": sum(1 for e in run.journal if not acknowledged(e) and e["status"] != 403),
            "flap_cycles": sum(1 for e in run.acked_admin if e["op"] == "detach"),
            "flapper_requests_judged": dict(Counter(span for _, span in flapper_judged(run)))}


def verify(world_path: str, journal_path: str) -> dict:
    """Every check over the run; the report lists each check's count and its first ten problems."""
    run = read_run(world_path, journal_path)
    problems: dict[str, list] = defaultdict(list)
    for check in CHECKS:
        for name, problem in check(run):
            problems[name].append(problem)
    return {
        "journal": journal_summary(run),
        "checks": {name: len(problems[name]) for name in CHECK_NAMES},
        "problems": {name: items[:10] for name, items in problems.items() if items},
    }


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2], int(os.environ.get("LOADTEST_USERS", "20")))
    else:
        print(json.dumps(verify(sys.argv[2], sys.argv[3]), default=str))
