"""Impact previews (accounts/impact.py) on a `bench_data` account of 1,000 users: seconds per preview.

    DJANGO_DEBUG=1 .venv/bin/python bench/impact.py [--users 1000] [--groups 200] [--repeat 3]

Builds a fresh SQLite database in a temporary folder (migrate, seed_demo, bench_data with few images),
then times each confirmation's preview, cold (the first, directory and tables compiled) and warm (the
best of --repeat, as a second visit to the page finds them): attach IMS FullAccess on All resources
and on two projects to the largest bench group, detach its first grant, delete it, add the crowded
user (10 groups of 20 grants) to it and remove one of theirs, deactivate the crowded user, a new
document for the most-held custom policy, and attaching to an "everyone" group of every user.
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--policies", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=3)
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
    from accounts import authz, impact
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
    cases = [
        (f"attach IMS FullAccess, All resources, to {group.name}",
         lambda: impact.attach_impact(group, [full], all_resources=True)),
        (f"attach IMS FullAccess, 2 projects, to {group.name}",
         lambda: impact.attach_impact(group, [full], all_resources=False, projects=projects)),
        (f"detach {held.name} from {group.name}", lambda: impact.detach_impact(group, [held])),
        (f"delete {group.name}", lambda: impact.group_delete_impact(group)),
        (f"add crowded to {group.name}", lambda: impact.membership_impact(group, crowded, add=True)),
        (f"remove crowded from {crowded_group.name}",
         lambda: impact.membership_impact(crowded_group, crowded, add=False)),
        ("deactivate crowded", lambda: impact.activity_impact(crowded, active=False)),
        (f"new document for {custom.name}", lambda: impact.document_impact(custom, new_document)),
        ("attach IMS FullAccess, All resources, to everyone",
         lambda: impact.attach_impact(everyone, [full], all_resources=True)),
        ("delete everyone", lambda: impact.group_delete_impact(everyone)),
    ]
    print(f"{User.objects.count()} users, {UserGroup.objects.count()} groups; {group.name} has "
          f"{group.n} members; everyone has {everyone.memberships.count()}")
    print(f"{'preview':<58} {'cold s':>7} {'warm s':>7} {'cpu s':>7} {'users':>6} {'decisions':>10}")
    for label, function in cases:
        cold, warm, cpu, result = timed(function, arguments.repeat)
        print(f"{label:<58} {cold:>7.3f} {warm:>7.3f} {cpu:>7.3f} {result.changed_users:>6} "
              f"{result.decision_count:>10}", flush=True)


if __name__ == "__main__":
    main()
