"""Two saves at the same moment against a file-based SQLite database (run by test_sqlite_concurrent_saves).

Each save runs through its real service; a pre_save hook holds both inside their transactions,
after their reads and before their writes, until both are there (or a second has passed, which
is what happens when the database makes the second one wait). Prints one JSON line: each save's
outcome ("saved", "conflict" or the error).

    DATABASE_URL=sqlite:////tmp/x.sqlite3 python -m tests.sqlite_race same-image [DEFERRED]
"""

import contextlib
import json
import os
import sys
import threading

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imsperm.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

import django
from django.conf import settings


def main(scenario: str, transaction_mode: str | None) -> None:
    if transaction_mode:
        settings.DATABASES["default"]["OPTIONS"]["transaction_mode"] = transaction_mode
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models.signals import pre_save

    from accounts import services as iam
    from accounts.models import Project, Region, UserGroup
    from images import services
    from images.models import Image

    call_command("migrate", verbosity=0)
    region = Region.objects.create(code="cn-north-4", name="CN North-Beijing4")
    project = Project.objects.create(name="cn-north-4", region=region)
    images = [Image.objects.create(name=f"image-{i}", project=project, status="active") for i in range(2)]
    groups = [iam.group_create(actor=None, name=f"group-{i}") for i in range(2)]
    connection.close()

    both_inside = threading.Barrier(2)

    def hold(sender, **kwargs):
        with contextlib.suppress(threading.BrokenBarrierError):
            both_inside.wait(timeout=1)

    pre_save.connect(hold, sender=Image, weak=False)
    pre_save.connect(hold, sender=UserGroup, weak=False)

    def save(index: int):
        if scenario == "same-image":  # both loaded revision 1 of the same image
            image = Image.objects.get(pk=images[0].pk)
            services.image_update(actor=None, image=image, expected_revision=1, description=f"by {index}")
        elif scenario == "two-groups":
            group = UserGroup.objects.get(pk=groups[index].pk)
            iam.group_update(actor=None, group=group, name=group.name, description=f"by {index}")

    outcomes = [None, None]

    def run(index: int):
        try:
            save(index)
            outcomes[index] = "saved"
        except services.ConcurrentImageEditError:
            outcomes[index] = "conflict"
        except Exception as error:  # the outcome is the point
            outcomes[index] = f"{type(error).__name__}: {error}"
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    descriptions = sorted(Image.objects.values_list("description", flat=True)) if scenario == "same-image" else \
        sorted(UserGroup.objects.values_list("description", flat=True))
    print(json.dumps({"outcomes": outcomes, "stored": descriptions,
                      "mode": settings.DATABASES["default"]["OPTIONS"].get("transaction_mode")}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
