"""A backup taken while the console runs, and its restore (README, Backup and restore).

    python loadtest/fault_backup.py backup DIR     DATABASE_URL (PostgreSQL) and IMSPERM_MEDIA_ROOT from the
                                                   environment; writes DIR/imsperm.dump, DIR/iam.json, DIR/media

One moment for all three parts: image writes are held (`LOCK TABLE images_image IN SHARE MODE`, which
waits for the image writes in flight and makes new ones wait) for as long as it takes to export a
snapshot and copy the media folder — well under a second for thousands of files, copied as hard
links when the backup is on the same file system — then released; pg_dump and the IAM export read
that same snapshot. An image file reaches its name before its row commits and is removed only after
its row's deletion commits, so the copy holds every file the dump names. A plain `pg_dump` followed
by `cp -a media` misses the file of an image deleted between the two.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _copy_media(source: Path, target: Path) -> int:
    """Copy the media folder (hard links where possible: the files are never changed in place)."""
    copied = 0
    for folder, _dirs, names in os.walk(source):
        into = target / Path(folder).relative_to(source)
        into.mkdir(parents=True, exist_ok=True)
        for name in names:
            with contextlib.suppress(FileNotFoundError):  # a file deleted meanwhile: its row is gone too
                try:
                    os.link(Path(folder) / name, into / name)
                except OSError:
                    shutil.copy2(Path(folder) / name, into / name)
                copied += 1
    return copied


def backup(database_url: str, media: Path, out: Path, *, pg_dump: str = "pg_dump", state=None,
           env: dict | None = None) -> dict:
    """Dump, IAM export and media copy of one moment; `state(snapshot, moment)` may read it too."""
    import psycopg

    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    # Two connections: `lock` holds image writes for the copy only; `holder` keeps the snapshot open
    # (a table lock lasts as long as its transaction) until its readers have imported it.
    lock, holder = psycopg.connect(database_url), psycopg.connect(database_url)
    try:
        lock.execute("SET lock_timeout = '10s'")
        lock.execute("BEGIN")
        lock.execute("LOCK TABLE images_image IN SHARE MODE")  # image writes in flight have committed
        holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        snapshot = holder.execute("SELECT pg_export_snapshot()").fetchone()[0]
        moment = holder.execute("SELECT now()").fetchone()[0].astimezone(UTC).isoformat()
        files = _copy_media(media, out / "media") if media.exists() else 0
        lock.execute("COMMIT")  # image writes go on; the snapshot stays
        held = time.monotonic() - started
        readers = [subprocess.Popen([pg_dump, "-Fc", f"--snapshot={snapshot}", "-d", database_url,
                                     "-f", str(out / "imsperm.dump")]),
                   subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "export", snapshot,
                                     str(out / "iam.json")], cwd=ROOT, env=env)]
        if state is not None:
            readers.append(state(snapshot, moment))
        failed = [reader.args for reader in readers if reader.wait(timeout=300)]
        if failed:
            raise RuntimeError(f"backup readers failed: {failed}")
    finally:
        lock.close()
        holder.close()
    return {"moment": moment, "files": files, "image_writes_held_s": round(held, 3),
            "seconds": round(time.monotonic() - started, 1)}


def _export_in_snapshot(snapshot: str, output: str) -> None:
    """manage.py iam_export, read in the snapshot."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imsperm.settings")
    import django

    django.setup()
    from django.db import connection, transaction

    from accounts import iac

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SET TRANSACTION SNAPSHOT %s", [snapshot])
        Path(output).write_text(iac.export_text(), encoding="utf-8")


def restore(backup_dir: Path, admin_url: str, database: str, media: Path, *, pg_restore: str = "pg_restore") -> None:
    """Into a new, empty database and media folder: pg_restore, then the files back."""
    import psycopg

    with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{database}"')
    subprocess.run([pg_restore, "--no-owner", "-d", f"{admin_url}/{database}", str(backup_dir / "imsperm.dump")],
                   check=True, capture_output=True, text=True)
    shutil.copytree(backup_dir / "media", media)


def _decisions_differ(at_backup: dict, restored: dict) -> int:
    """Users whose decisions differ between the moment and the restore (a user on one side only differs)."""
    return sum(1 for user in at_backup["decisions"].keys() | restored["decisions"].keys()
               if at_backup["decisions"].get(user) != restored["decisions"].get(user))


def _image_rows_differ(at_backup: dict, restored: dict) -> int:
    """Image rows that differ, their files' digests aside (the files are compared on their own)."""
    return sum(1 for pk in at_backup["images"].keys() | restored["images"].keys()
               if {**(at_backup["images"].get(pk) or {}), "digest": None}
               != {**(restored["images"].get(pk) or {}), "digest": None})


def _active_files_missing_and_differing(at_backup: dict, active: list[dict]) -> tuple[int, int]:
    """The restored active images' files: how many are missing, how many differ from the moment's."""
    missing = sum(1 for row in active if row["digest"] is None)
    differ = sum(1 for row in active if row["digest"] is not None
                 and row["digest"] != (at_backup["images"].get(row["id"]) or {}).get("digest"))
    return missing, differ


def compare(at_backup: dict, restored: dict, backup_dir: Path) -> dict:
    """Differences between the state read at the backup's moment and the restored one (all zero)."""
    active = [row for row in restored["images"].values() if row["status"] == "active" and row["file"]]
    files_missing, files_differ = _active_files_missing_and_differing(at_backup, active)
    iam_file = (backup_dir / "iam.json").read_text(encoding="utf-8")
    return {"checks": {"decisions_differ": _decisions_differ(at_backup, restored),
                       "image_rows_differ": _image_rows_differ(at_backup, restored),
                       "active_image_files_missing": files_missing, "image_files_differ": files_differ,
                       "iam_export_differs_from_restored": int(iam_file != restored["iam_export"]),
                       "iam_export_differs_from_moment": int(iam_file != at_backup["iam_export"])},
            "users": len(restored["decisions"]), "images": len(restored["images"]), "active_with_file": len(active)}


if __name__ == "__main__":
    if sys.argv[1] == "export":
        _export_in_snapshot(sys.argv[2], sys.argv[3])
    else:
        result = backup(os.environ["DATABASE_URL"], Path(os.environ.get("IMSPERM_MEDIA_ROOT", ROOT / "media")),
                        Path(sys.argv[2]))
        print(json.dumps(result))
