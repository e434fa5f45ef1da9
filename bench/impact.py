"""Impact previews (accounts/impact.py) on a `bench_data` account of 1,000 users: seconds per preview.

    DJANGO_DEBUG=1 .venv/bin/python bench/impact.py [--users 1000] [--groups 200] [--repeat 3] [--sample 5]

Builds a fresh SQLite database in a temporary folder (migrate, seed_demo, bench_data with few images),
then times each confirmation's preview, cold (the first, directory and tables compiled) and warm (the
best of --repeat, as a second visit to the page finds them): attach IMS FullAccess on All resources
and on two projects to the largest bench group, detach its first grant, delete it, add the crowded
user (10 groups of 20 grants) to it and remove one of theirs, deactivate the crowded user, a new
document for the most-held custom policy, and attaching to an "everyone" group of every user.

The peer is the brute force the tests compare with (tests/impact/test_preview_brute_force.py):
every catalogued action in every project decided by the engine from the user's own grants, before
the change and after it (made by its service in a transaction, then rolled back). It is measured
on --sample of the users the preview covers and scaled to all of them (its time per user barely
varies); "× brute" is that estimate's CPU time over the preview's warm CPU time.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def timed(function, repeat: int) -> tuple[float, float, float, object]:
    """Wall seconds cold and warm (best of `repeat`), and the warm run's CPU seconds (a busy machine
    stretches wall time, less so CPU time)."""
    started = time.perf_counter()
    result = function()
    cold = time.perf_counter() - started
    warm, cpu = cold, float("inf")
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        function()
        warm = min(warm, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
    return cold, warm, cpu, result


class _Undo(Exception):
    pass


def brute_force_cpu(change, users, sample: int) -> float | None:
    """CPU seconds the brute force would take for all `users`, measured on the first `sample` of them
    (None: the service refuses the change, as it refuses the crowded user an eleventh group)."""
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from accounts import authz
    from accounts.models import Project
    from accounts.policy import ACTIONS, SERVICES

    chosen = list(users[:sample])
    projects = list(Project.objects.order_by("name").values_list("name", flat=True))

    def decisions():
        found = {}
        for user in chosen:
            authorization = authz.Authorization(authz.load_grants(user, authz.current_stamp()))
            for action in ACTIONS:
                for project in [None] if SERVICES[action.service].is_global else projects:
                    explanation = authorization.decide(action.name, project)
                    found[(user.pk, action.name, project)] = (
                        explanation.outcome, bool(authorization.conditional_effects(action.name, project)))
        return found

    started = time.process_time()
    before = decisions()
    try:
        with transaction.atomic():
            change()
            after = decisions()
            raise _Undo
    except _Undo:
        pass
    except ValidationError:
        return None
    spent = time.process_time() - started
    assert before.keys() == after.keys()
    return spent * len(users) / max(1, len(chosen))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--policies", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample", type=int, default=5, help="users the brute-force peer is measured on")
    arguments = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="impact-bench-")
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/db.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imsperm.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db.models import Count

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from accounts import authz, impact, services
    from accounts.models import Membership, Policy, Project, User, UserGroup

    with contextlib.redirect_stdout(io.StringIO()):
        call_command("migrate", verbosity=0)
        call_command("seed_demo", verbosity=0)
        call_command("bench_data", images=100, users=arguments.users, groups=arguments.groups,
                     policies=arguments.policies)
    everyone = UserGroup.objects.create(name="everyone")
    Membership.objects.bulk_create(Membership(user=user, group=everyone) for user in User.objects.all())
    authz.bump_stamp()
    group = (UserGroup.objects.filter(name__startswith="bench-group-").annotate(n=Count("memberships"))
             .order_by("-n").first())
    crowded = User.objects.get(username="crowded")
    crowded_group = UserGroup.objects.filter(memberships__user=crowded).order_by("name").first()
    full = Policy.objects.get(name="IMS FullAccess")
    projects = list(Project.objects.order_by("name")[:2])
    held = Policy.objects.filter(grants__group=group).order_by("name").first()
    custom = (Policy.objects.filter(is_system=False).annotate(n=Count("grants")).order_by("-n").first())
    new_document = {"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["ims:images:*"]},
        {"Effect": "Deny", "Action": ["ims:images:delete"],
         "Condition": {"StringStartWith": {"g:UserName": ["user-1"]}}}]}
    holder_users = User.objects.filter(memberships__group__grants__policy=custom).distinct().order_by("username")
    members = User.objects.filter(memberships__group=group).order_by("username")
    leaving = [held, *services.detach_blockers(group, [held])]
    def fresh(instance):  # the change is rolled back, not the instance it deleted or changed in memory
        return type(instance).objects.get(pk=instance.pk)

    # (label, the preview, the change made by its service, the users the preview covers)
    cases = [
        (f"attach IMS FullAccess, All resources, to {group.name}",
         lambda: impact.attach_impact(group, [full], all_resources=True),
         lambda: services.grant_attach(actor=None, group=group, policies=[full], all_resources=True), members),
        (f"attach IMS FullAccess, 2 projects, to {group.name}",
         lambda: impact.attach_impact(group, [full], all_resources=False, projects=projects),
         lambda: services.grant_attach(actor=None, group=group, policies=[full], all_resources=False,
                                       projects=projects), members),
        (f"detach {held.name} from {group.name}", lambda: impact.detach_impact(group, leaving),
         lambda: services.grant_detach(actor=None, group=group, policies=leaving), members),
        (f"delete {group.name}", lambda: impact.group_delete_impact(group),
         lambda: services.group_delete(actor=None, group=fresh(group)), members),
        (f"add crowded to {group.name}", lambda: impact.membership_impact(group, crowded, add=True),
         lambda: services.group_add_member(actor=None, group=group, user=crowded), [crowded]),
        (f"remove crowded from {crowded_group.name}",
         lambda: impact.membership_impact(crowded_group, crowded, add=False),
         lambda: services.group_remove_member(actor=None, group=crowded_group, user=crowded), [crowded]),
        ("deactivate crowded", lambda: impact.activity_impact(crowded, active=False),
         lambda: services.user_update(actor=None, user=fresh(crowded), is_active=False), [crowded]),
        (f"new document for {custom.name}", lambda: impact.document_impact(custom, new_document),
         lambda: services.policy_update(actor=None, policy=fresh(custom), name=custom.name, description="",
                                        document=new_document, expected_revision=custom.revision), holder_users),
        ("attach IMS FullAccess, All resources, to everyone",
         lambda: impact.attach_impact(everyone, [full], all_resources=True),
         lambda: services.grant_attach(actor=None, group=everyone, policies=[full], all_resources=True),
         User.objects.order_by("username")),
        ("delete everyone", lambda: impact.group_delete_impact(everyone),
         lambda: services.group_delete(actor=None, group=fresh(everyone)), User.objects.order_by("username")),
    ]
    print(f"{User.objects.count()} users, {UserGroup.objects.count()} groups; {group.name} has "
          f"{group.n} members; everyone has {everyone.memberships.count()}")
    print(f"{'preview':<58} {'cold s':>7} {'warm s':>7} {'cpu s':>7} {'users':>6} {'decisions':>10} "
          f"{'brute cpu s':>11} {'× brute':>8}")
    previews = [timed(function, arguments.repeat) for _, function, _, _ in cases]  # before any brute force
    for (label, _, change, users), (cold, warm, cpu, result) in zip(cases, previews, strict=True):
        users = list(users)
        brute = brute_force_cpu(change, users, arguments.sample)
        peer = ("refused", "—") if brute is None else (f"{brute:.1f}", f"{brute / max(cpu, 1e-6):.0f}")
        print(f"{label:<58} {cold:>7.3f} {warm:>7.3f} {cpu:>7.3f} {result.changed_users:>6} "
              f"{result.decision_count:>10} {peer[0]:>11} {peer[1]:>8}", flush=True)


if __name__ == "__main__":
    main()
