"""`make faulttest`'s checks that need the database, run in the deployment's environment like world.py.

    python loadtest/fault_checks.py writes WORLD.json JOURNAL    writes answered as failed, and unanswered ones
    python loadtest/fault_checks.py files                       rows and files of images agree
    python loadtest/fault_checks.py state OUT.json MOMENT [SNAPSHOT]   decisions at MOMENT, image rows with
                          their files' digests and the IAM export, read in an exported PostgreSQL snapshot if given

Each prints one JSON line (state writes OUT.json). `writes`: a write answered as failed (a 4xx other
than 403, a 5xx) must not have happened; a write whose answer never came (status 0: the worker was
killed, the connection dropped) may go either way, and is counted as done or not.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections import Counter
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imsperm.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from accounts import authz, iac  # noqa: E402
from accounts.models import AuditEvent, Project, User  # noqa: E402
from accounts.policy.catalogue import ACTIONS  # noqa: E402
from images import uploads  # noqa: E402
from images.models import Image  # noqa: E402

ACKNOWLEDGED = {200, 302}


def _audited_with(image_id: str, token: str) -> bool:
    events = AuditEvent.objects.filter(target_id=image_id, action="ims:images:update",
                                       outcome=AuditEvent.Outcome.ALLOWED).values_list("details", flat=True)
    return any(token in json.dumps(details) for details in events)


def _done(entry: dict, later: list[dict]) -> bool | None:
    """Whether the journaled write happened, as far as the database shows; None when it cannot tell
    (a later attempt of the same write may have done it)."""
    op, image_id = entry["op"], entry.get("image")
    if entry["persona"] == "admin":
        return None  # attach/detach: the next flip changes the same grant
    if op == "create":
        return Image.objects.filter(name=entry["name"]).exists()
    if op == "modify":
        return _audited_with(image_id, entry["token"])
    if any(e["op"] == op and e.get("image") == image_id for e in later):
        return None  # retried: the retry's outcome hides this one's
    if op == "upload":
        return Image.objects.filter(pk=image_id, status=Image.Status.ACTIVE).exists()
    if op == "delete":
        return not Image.objects.filter(pk=image_id).exists()
    return None


def writes(journal_path: str) -> dict:
    journal = sorted((json.loads(line) for line in Path(journal_path).read_text().splitlines() if line.strip()),
                     key=lambda e: e["t0"])
    failed_but_done, unanswered, problems = 0, Counter(), []
    for index, entry in enumerate(journal):
        status = entry["status"]
        if status in ACKNOWLEDGED or status == 403:
            continue
        done = _done(entry, journal[index + 1:])
        if status == 0:
            unanswered["done" if done else "not done" if done is False else "unknown"] += 1
        elif done:
            failed_but_done += 1
            problems.append({k: entry.get(k) for k in ("persona", "user", "op", "image", "status", "t0")})
    return {"failed_but_done": failed_but_done, "unanswered": dict(unanswered), "problems": problems[:10]}


def files() -> dict:
    """Every active row has its whole file; every file in the image folder is named by a row."""
    folder = Path(settings.MEDIA_ROOT) / "images"
    present = {f"images/{p.name}": p.stat().st_size for p in folder.iterdir()} if folder.is_dir() else {}
    active_without_file, wrong_size = [], []
    for pk, name, size in Image.objects.filter(status=Image.Status.ACTIVE).exclude(file="").values_list(
            "pk", "file", "size"):
        if name not in present:
            active_without_file.append(str(pk))
        elif present[name] != size:
            wrong_size.append(str(pk))
    named = set(Image.objects.exclude(file="").values_list("file", flat=True))
    hidden = {name for name in present if name.split("/")[1].startswith(".")}
    leftovers = sorted(set(present) - named - hidden)
    return {"active_without_file": len(active_without_file), "file_of_wrong_size": len(wrong_size),
            "file_without_row": len(leftovers),
            "partial_files": sum(1 for name in present if name.endswith(uploads.PARTIAL_SUFFIX)),
            "files": len(present), "examples": (active_without_file + wrong_size + leftovers)[:10]}


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _state() -> dict:
    """Decisions (every user × action × project), image rows with their files' digests, the IAM export."""
    projects = list(Project.objects.order_by("name"))
    decisions = {}
    for user in User.objects.order_by("username"):
        decisions[user.username] = "".join(authz.decide(user, action.name, project).outcome[0]
                                           for action in ACTIONS for project in projects)
    media = Path(settings.MEDIA_ROOT)
    images = {str(row["id"]): {**row, "id": str(row["id"]), "project_id": row["project_id"],
                               "digest": _digest(media / row["file"]) if row["file"] else None}
              for row in Image.objects.values("id", "name", "status", "description", "revision", "file", "size",
                                              "project_id")}
    return {"decisions": decisions, "images": images, "iam_export": iac.export_text()}


def state(out: str, snapshot: str | None, moment: str) -> dict:
    """The state, read in `snapshot` (a pg_export_snapshot() id) when given, decided at `moment`."""
    from datetime import datetime

    at = datetime.fromisoformat(moment)
    with transaction.atomic(), mock.patch.object(authz, "clock", lambda: at):
        if snapshot:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cursor.execute("SET TRANSACTION SNAPSHOT %s", [snapshot])
        result = _state()
    Path(out).write_text(json.dumps(result, default=str))
    return {"users": len(result["decisions"]), "images": len(result["images"])}


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "writes":
        print(json.dumps(writes(sys.argv[3])))
    elif command == "files":
        print(json.dumps(files()))
    else:
        print(json.dumps(state(sys.argv[2], sys.argv[4] if len(sys.argv) > 4 else None, sys.argv[3])))
