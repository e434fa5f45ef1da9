"""The decision API's time for a batch of 100 requests, on a database filled by `bench_data`.

    export DATABASE_URL=sqlite:////tmp/api_bench.sqlite3
    DJANGO_DEBUG=1 python manage.py migrate
    DJANGO_DEBUG=1 python manage.py bench_data --images 100000 --users 1000
    python bench/api_timing.py

Through `django.test.Client` (the whole request: middleware, token look-up, rate limit, body
validation, the look-ups of projects and images, 100 decisions, the JSON), DEBUG off, warm: the
median of 21 batches per variant (wall and process CPU time), the variants interleaved.
Variants: the crowded user (10 groups × 20 grants, conditions) asking about itself, with an image
in every request and without; an administrator asking about a random user's decisions, one batch
per user (that user's grants loaded cold each time).
"""

import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROUNDS = 21
BATCH = 100


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imsperm.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
    os.environ.setdefault("IMSPERM_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("IMSPERM_API_RATE", "100000/m")
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from accounts import services
    from accounts.models import ADMIN_GROUP_NAME, Project, User, UserGroup
    from accounts.policy import IMS_ACTIONS
    from api.services import api_token_create
    from images.models import Image

    settings.ALLOWED_HOSTS = ["testserver"]
    rng = random.Random(11)
    crowded = User.objects.get(username="crowded")
    admin, _ = User.objects.get_or_create(username="api-bench-admin")
    admin_group = UserGroup.objects.get(name=ADMIN_GROUP_NAME, is_builtin=True)
    if not admin_group.memberships.filter(user=admin).exists():
        services.group_add_member(actor=None, group=admin_group, user=admin)
    crowded_token = api_token_create(actor=crowded, name=f"bench-{time.time()}")[1]
    admin_token = api_token_create(actor=admin, name=f"bench-{time.time()}")[1]
    projects = list(Project.objects.values_list("name", flat=True))
    image_ids = [str(pk) for pk in Image.objects.order_by("?").values_list("pk", flat=True)[:2000]]
    usernames = list(User.objects.filter(username__startswith="user-").values_list("username", flat=True))
    actions = [action.name for action in IMS_ACTIONS]

    def batch(with_images: bool) -> list[dict]:
        items = []
        for _ in range(BATCH):
            item = {"action": rng.choice(actions), "project": rng.choice(projects)}
            if with_images:
                item["image"] = rng.choice(image_ids)
            items.append(item)
        return items

    client = Client()

    def call(token: str, body: dict) -> tuple[float, float]:
        started, cpu = time.perf_counter(), time.process_time()
        response = client.post("/api/v1/authorize", data=json.dumps(body), content_type="application/json",
                               headers={"Authorization": f"Bearer {token}"})
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert response.status_code == 200, response.content[:300]
        assert len(response.json()["results"]) == BATCH
        return elapsed * 1000, cpu * 1000

    variants = {
        "crowded self, 100 requests with images": lambda: call(crowded_token, {"requests": batch(True)}),
        "crowded self, 100 requests without images": lambda: call(crowded_token, {"requests": batch(False)}),
        "admin about a random user, 100 requests with images": lambda: call(
            admin_token, {"user": rng.choice(usernames), "requests": batch(True)}),
    }
    for run in variants.values():  # warm-up
        run()
    times = {name: [] for name in variants}
    for _ in range(ROUNDS):
        for name, run in variants.items():
            times[name].append(run())
    print(f"decision API, {Image.objects.count()} images, {User.objects.count()} users, batch of {BATCH}:")
    print(f"(load average {os.getloadavg()[0]:.1f}; CPU is this process's time, less sensitive to the load)")
    for name, values in times.items():
        wall = sorted(value for value, _ in values)
        cpu = statistics.median(value for _, value in values)
        print(f"  {name}: median {statistics.median(wall):.1f} ms (p90 {wall[int(0.9 * len(wall))]:.1f} ms), "
              f"CPU {cpu:.1f} ms")


if __name__ == "__main__":
    main()
