"""Fill a database for benchmarks: many images, users, groups, grants and custom policies, fast.

Rows go in with one `executemany` per batch (no model instances, no signals), so a million images
with their tags and shares take a few minutes on SQLite. The name-search index follows through
the database's own triggers (images/migrations). The variety is what a busy account looks like:
50 projects in 5 regions, every image type, status, OS, format and architecture, 1–5 tags each,
shares in every state; users in 1–10 groups, groups with 1–20 grants (scoped and unscoped), custom
policies with conditions, and one "crowded" user in 10 groups of 20 grants. The SPEC's limits hold.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from accounts import authz
from accounts.models import (
    MAX_CUSTOM_POLICIES,
    MAX_GRANTS_PER_GROUP,
    MAX_GROUPS_PER_USER,
    MAX_SUBPROJECTS_PER_REGION,
    Grant,
    Membership,
    Policy,
    Project,
    Region,
    User,
    UserGroup,
)
from accounts.policy import validate_document
from images.models import Image, ImageMember, ImageTag

BENCH_PASSWORD = "imsperm-bench"
CROWDED_USERNAME = "crowded"
REGIONS = [
    ("cn-north-4", "CN North-Beijing4"),
    ("cn-east-3", "CN East-Shanghai1"),
    ("ap-southeast-1", "AP-Hong Kong"),
    ("eu-west-101", "EU-Dublin"),
    ("la-south-2", "LA-Santiago"),
]
SUBPROJECTS = ["dev", "test", "stage", "web", "data", "ml", "ops", "sec", "lab"]  # 9 per region, limit 10
PURPOSES = ["web", "db", "cache", "batch", "gpu", "base", "build", "edge", "api", "etl"]
TAG_KEYS = ["env", "team", "app", "owner", "tier", "cost-center", "release"]
TAG_VALUES = ["prod", "dev", "test", "stage", "blue", "green", "alpha", "beta", "core", "ops"]
# Weights: most images are private; every type, status and OS appears.
IMAGE_TYPES = [("private", 80), ("gold", 8), ("market", 7), ("shared", 5)]
STATUSES = [("active", 70), ("queued", 8), ("saving", 5), ("killed", 4), ("deleted", 13)]
OS_PLATFORMS = [("Linux", "Ubuntu"), ("Linux", "CentOS"), ("Linux", "Debian"), ("Linux", "EulerOS"),
                ("Linux", "openEuler"), ("Windows", "Windows"), ("Other", "Other")]
SHARE_STATUSES = ("pending", "accepted", "rejected")
SYSTEM_POLICY_NAMES = ["IMS FullAccess", "IMS ReadOnlyAccess", "Server Administrator", "Tenant Guest"]
BATCH = 5000


def _weighted(rng: random.Random, pairs, count: int) -> list:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights, k=count)


def condition_document(rng: random.Random, number: int) -> dict:
    """A custom policy with conditions on tags, OS and user, as people write them."""
    env = rng.choice(TAG_VALUES)
    statements = [
        {"Effect": "Allow", "Action": rng.sample(["ims:images:list", "ims:images:get", "ims:images:update",
                                                  "ims:images:share", "ims:images:export", "ims:*:get*"], 3),
         "Condition": {"StringEquals": {"ims:ResourceTag/env": [env]}}},
        {"Effect": "Allow", "Action": ["ims:images:list", "ims:images:get", "ims:images:delete"]},
    ]
    if number % 3 == 0:
        statements.append({"Effect": "Deny", "Action": ["ims:images:delete"],
                           "Condition": {"StringNotEquals": {"ims:OsType": ["Linux"]}}})
    if number % 5 == 0:
        statements.append({"Effect": "Allow", "Action": ["ims:serverImages:create"],
                           "Condition": {"StringStartWith": {"g:UserName": [f"user-{number % 10}"]}}})
    return {"Version": "1.1", "Statement": statements}


class Command(BaseCommand):
    help = "Fill the database with benchmark data (bulk inserts): images, users, groups, grants, policies."

    def add_arguments(self, parser):
        parser.add_argument("--images", type=int, default=100_000)
        parser.add_argument("--users", type=int, default=1000)
        parser.add_argument("--groups", type=int, default=200)
        parser.add_argument("--policies", type=int, default=150, help=f"custom policies (≤ {MAX_CUSTOM_POLICIES})")
        parser.add_argument("--seed", type=int, default=8)

    def handle(self, *args, images, users, groups, policies, seed, **options):
        if min(images, users, groups, policies) < 0:
            raise CommandError("Counts cannot be negative.")
        rng = random.Random(seed)
        started = time.perf_counter()
        with transaction.atomic():
            projects = self._projects()
            custom = self._policies(rng, policies)
            self._directory(rng, users, groups, projects, custom)
            authz.bump_stamp()
        with transaction.atomic():
            self._images(rng, images, projects)
        with connection.cursor() as cursor:
            # Planner statistics: without them SQLite guesses that every indexed equality is selective
            # and walks a whole tab to check a name search's few matches. PostgreSQL also needs its
            # visibility map set (VACUUM) before a count can read an index alone.
            vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block  # not inside a transaction
            cursor.execute("VACUUM ANALYZE" if vacuum else "ANALYZE")
        self.stdout.write(self.style.SUCCESS(
            f"Benchmark data ready in {time.perf_counter() - started:.0f} s: {Image.objects.count()} images, "
            f"{User.objects.count()} users, {UserGroup.objects.count()} groups, {Grant.objects.count()} grants, "
            f"{Policy.objects.filter(is_system=False).count()} custom policies (password {BENCH_PASSWORD})."
        ))

    # --- IAM ---------------------------------------------------------------------------------

    def _projects(self) -> list[Project]:
        projects = []
        for code, name in REGIONS:
            region, _ = Region.objects.get_or_create(code=code, defaults={"name": name})
            existing = Project.objects.filter(region=region).exclude(name=code).count()
            names = [code] + [f"{code}_{sub}" for sub in SUBPROJECTS]
            for project_name in names:
                project, created = Project.objects.get_or_create(name=project_name, defaults={"region": region})
                existing += created and project_name != code
                projects.append(project)
            if existing > MAX_SUBPROJECTS_PER_REGION:
                raise CommandError(f"{code} would have {existing} subprojects (limit {MAX_SUBPROJECTS_PER_REGION}).")
        return projects

    def _policies(self, rng, count: int) -> list[Policy]:
        present = Policy.objects.filter(is_system=False).count()
        room = MAX_CUSTOM_POLICIES - present
        wanted = [f"bench-policy-{n:03d}" for n in range(count)]
        have = set(Policy.objects.filter(name__in=wanted).values_list("name", flat=True))
        new = [name for name in wanted if name not in have][:max(0, room)]
        documents = {}
        for name in new:
            document = condition_document(rng, int(name.rsplit("-", 1)[1]))
            if not validate_document(document).ok:
                raise CommandError(f"The generated document of {name} does not validate.")
            documents[name] = document
        Policy.objects.bulk_create(Policy(name=name, document=documents[name], description="benchmark policy")
                                   for name in new)
        return list(Policy.objects.filter(is_system=False, name__startswith="bench-policy-").order_by("name"))

    def _directory(self, rng, user_count, group_count, projects, custom):
        """Groups with grants of the system and custom policies, users in them, and the crowded user."""
        system = list(Policy.objects.filter(name__in=SYSTEM_POLICY_NAMES))
        pool = system + custom
        if not pool:
            raise CommandError("No policies to grant.")
        password = make_password(BENCH_PASSWORD)
        group_names = [f"bench-group-{n:04d}" for n in range(group_count)]
        crowded_names = [f"crowded-group-{n}" for n in range(MAX_GROUPS_PER_USER)]
        known = set(UserGroup.objects.filter(name__in=group_names + crowded_names).values_list("name", flat=True))
        UserGroup.objects.bulk_create(UserGroup(name=name, description="benchmark group")
                                      for name in group_names + crowded_names if name not in known)
        by_name = {g.name: g for g in UserGroup.objects.filter(name__in=group_names + crowded_names)}
        new_groups = [by_name[name] for name in group_names if name not in known]
        crowded_groups = [by_name[name] for name in crowded_names if name not in known]
        self._grants(rng, pool, new_groups, crowded_groups, projects)
        self._users(rng, user_count, password, [by_name[name] for name in group_names], crowded_groups)

    def _grants(self, rng, pool, new_groups, crowded_groups, projects) -> None:
        """Up to 20 grants per new group, 40% of them on all resources, the others scoped to 1 to 3 projects."""
        grants, scopes = [], []
        per_group = min(20, MAX_GRANTS_PER_GROUP, len(pool))
        for group in new_groups:
            for policy in rng.sample(pool, rng.randint(1, per_group)):
                grants.append(Grant(group=group, policy=policy, all_resources=rng.random() < 0.4))
        # The crowded user's groups: 20 grants each, half scoped to a few projects; one lets it read everywhere.
        reader = Policy.objects.get(name="IMS ReadOnlyAccess")
        for number, group in enumerate(crowded_groups):
            chosen = [policy for policy in rng.sample(pool, per_group + 1) if policy != reader][:per_group]
            if number == 0:
                chosen[0] = reader
            for policy in chosen:
                grants.append(Grant(group=group, policy=policy,
                                    all_resources=policy == reader or rng.random() < 0.5))
        created = Grant.objects.bulk_create(grants, batch_size=BATCH)
        for grant in created:
            if not grant.all_resources:
                scopes.extend(Grant.projects.through(grant_id=grant.pk, project_id=p.pk)
                              for p in rng.sample(projects, rng.randint(1, 3)))
        Grant.projects.through.objects.bulk_create(scopes, batch_size=BATCH)

    def _users(self, rng, user_count, password, group_pool, crowded_groups) -> None:
        """The users, each in a few of `group_pool`, and the crowded user in every crowded group."""
        usernames = [f"user-{n:06d}" for n in range(user_count)]
        known_users = set(User.objects.filter(username__in=[*usernames, CROWDED_USERNAME])
                          .values_list("username", flat=True))
        User.objects.bulk_create(
            (User(username=name, password=password, email=f"{name}@example.com")
             for name in [*usernames, CROWDED_USERNAME] if name not in known_users), batch_size=BATCH)
        fresh = User.objects.filter(username__in=[n for n in usernames if n not in known_users])
        memberships = []
        if group_pool:
            for user_id in fresh.values_list("pk", flat=True):
                for group in rng.sample(group_pool, min(len(group_pool), rng.randint(1, MAX_GROUPS_PER_USER))):
                    memberships.append(Membership(user_id=user_id, group=group))
        if CROWDED_USERNAME not in known_users:
            crowded = User.objects.get(username=CROWDED_USERNAME)
            memberships.extend(Membership(user=crowded, group=group) for group in crowded_groups)
        Membership.objects.bulk_create(memberships, batch_size=BATCH)

    # --- images ------------------------------------------------------------------------------

    def _images(self, rng, count: int, projects: list[Project]) -> None:
        """Images, tags and shares with executemany, in batches (one INSERT statement per table each)."""
        image_columns = ["id", "name", "description", "image_type", "kind", "status", "os_type", "platform",
                         "os_version", "os_bit", "architecture", "disk_format", "min_disk", "min_ram", "size",
                         "protected", "encryption_key_id", "project", "file", "created_at", "updated_at"]
        insert_image, image_defaults = _insert_sql(Image, image_columns)
        insert_tag, tag_defaults = _insert_sql(ImageTag, ["image", "key", "value"])
        insert_member, member_defaults = _insert_sql(ImageMember, ["image", "project", "status", "created_at",
                                                                   "updated_at"])
        maker = _ImageMaker(projects, connection.vendor == "sqlite", image_defaults, tag_defaults, member_defaults)
        done = 0
        with connection.cursor() as cursor:
            if maker.sqlite:  # room for the indexes' pages: a million rows into sixteen indexes thrash a small cache
                cursor.execute("PRAGMA cache_size = -1048576")
            while done < count:
                size = min(BATCH, count - done)
                types = _weighted(rng, IMAGE_TYPES, size)
                statuses = _weighted(rng, STATUSES, size)
                image_rows, tag_rows, member_rows = [], [], []
                for offset in range(size):
                    maker.add(rng, done + offset, types[offset], statuses[offset], image_rows, tag_rows, member_rows)
                cursor.executemany(insert_image, image_rows)
                cursor.executemany(insert_tag, tag_rows)
                if member_rows:
                    cursor.executemany(insert_member, member_rows)
                done += size
                if done % 100_000 == 0 or done == count:
                    self.stdout.write(f"  {done} images")


class _ImageMaker:
    """One generated image's rows: the image, its 1 to 5 tags, and (for 8% of private ones) its shares."""

    EPOCH = datetime(2024, 1, 1, tzinfo=UTC)

    def __init__(self, projects, sqlite: bool, image_defaults, tag_defaults, member_defaults):
        self.projects, self.sqlite = projects, sqlite
        self.image_defaults, self.tag_defaults, self.member_defaults = image_defaults, tag_defaults, member_defaults
        self.kinds = [value for value, _ in Image.Kind.choices]
        self.formats = [value for value, _ in Image.DiskFormat.choices]
        self.stamp = connection.ops.adapt_datetimefield_value

    def add(self, rng, number: int, image_type: str, status: str, image_rows, tag_rows, member_rows) -> None:
        image_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        db_id = image_id.hex if self.sqlite else image_id
        os_type, platform = rng.choice(OS_PLATFORMS)
        project = rng.choice(self.projects)
        created = self.stamp(self.EPOCH + timedelta(seconds=number * 30 + rng.randrange(30)))
        image_rows.append((
            db_id, f"{platform.lower()}-{rng.choice(PURPOSES)}-{image_id.hex[:8]}", "", image_type,
            rng.choice(self.kinds), status, os_type, platform, f"{platform} {rng.randint(7, 24)}",
            64 if rng.random() < 0.9 else 32, "arm" if rng.random() < 0.25 else "x86",
            rng.choice(self.formats), rng.choice((20, 40, 80)), rng.choice((512, 1024, 4096)),
            rng.randrange(1, 50) * 1024 ** 3, rng.random() < 0.1,
            f"kms-{rng.randrange(100):03d}" if rng.random() < 0.05 else "", project.pk, "",
            created, created, *self.image_defaults,
        ))
        for key in rng.sample(TAG_KEYS, rng.randint(1, 5)):
            tag_rows.append((db_id, key, rng.choice(TAG_VALUES), *self.tag_defaults))
        if image_type in ("private", "shared") and rng.random() < 0.08:
            for member in rng.sample(self.projects, rng.randint(1, 2)):
                if member.pk != project.pk:
                    member_rows.append((db_id, member.pk, rng.choice(SHARE_STATUSES), created, created,
                                        *self.member_defaults))


def _insert_sql(model, field_names: list[str]) -> tuple[str, tuple]:
    """INSERT INTO <table> (<columns>) VALUES (%s, ...) for `field_names` then every other column (bar an
    auto id), and the constant values of those others: their defaults, so a field added later needs no change."""
    quote = connection.ops.quote_name
    named = [model._meta.get_field(name) for name in field_names]
    others = [field for field in model._meta.concrete_fields
              if field not in named and not (field.primary_key and field.get_internal_type().endswith("AutoField"))]
    defaults = tuple(field.get_db_prep_save(field.get_default(), connection) for field in others)
    columns = [field.column for field in named + others]
    sql = (f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
           f"VALUES ({', '.join(['%s'] * len(columns))})")
    return sql, defaults
