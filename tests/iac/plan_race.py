"""A write from another connection while an import plans (run by tests/iac/test_plan_lock.py).

Against a file-based SQLite database (IMMEDIATE transactions, a 1 s busy timeout): while the
import computes — its plan inside apply_configuration, or the comparison of decisions in
trial_plan — another thread updates an image on its own connection. Prints one JSON line: the
writer's outcome ("saved" or the error) and the import's.

    DATABASE_URL=sqlite:////tmp/x.sqlite3 python -m tests.iac.plan_race apply|trial
"""

import json
import os
import sys
import threading

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imsperm.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ["IMSPERM_DB_LOCK_TIMEOUT"] = "1"

import django


def main(scenario: str) -> None:
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from accounts import iac
    from accounts.iac import apply as apply_module
    from accounts.iac import trial as trial_module
    from accounts.models import Project, Region
    from images.models import Image

    call_command("migrate", verbosity=0)
    region = Region.objects.create(code="cn-north-4", name="CN North-Beijing4")
    project = Project.objects.create(name="cn-north-4", region=region)
    image = Image.objects.create(name="image", project=project, status="active")
    data = json.loads(iac.export_text())
    for number in range(20):
        data["users"].append({"username": f"u{number}"})
        data["groups"].append({"name": f"team{number}", "members": [f"u{number}"]})
        data["grants"].append({"group": f"team{number}", "policy": "IMS ReadOnlyAccess", "scope": "all_resources"})
    configuration = iac.parse_text(json.dumps(data))
    connection.close()

    writes = []

    def write():
        try:
            Image.objects.filter(pk=image.pk).update(description="written while the import computed")
            writes.append("saved")
        except Exception as error:  # the outcome is the point
            writes.append(f"{type(error).__name__}: {error}")
        finally:
            connection.close()

    def while_computing(function):
        def wrapper(*args, **kwargs):
            result = function(*args, **kwargs)
            if not writes:
                writer = threading.Thread(target=write)
                writer.start()
                writer.join()
            return result
        return wrapper

    if scenario == "apply":
        apply_module.build_plan = while_computing(apply_module.build_plan)
    else:
        trial_module.compare = while_computing(trial_module.compare)
    try:
        if scenario == "apply":
            iac.apply_configuration(configuration, actor=None)
        else:
            planned = iac.trial_plan(configuration, actor=None)
            assert planned.effects and not planned.errors, planned.errors
        outcome = "done"
    except Exception as error:
        outcome = f"{type(error).__name__}: {error}"
    print(json.dumps({"writes": writes, "import": outcome,
                      "stored": Image.objects.get(pk=image.pk).description}))


if __name__ == "__main__":
    main(sys.argv[1])
