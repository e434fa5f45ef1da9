"""`make faulttest`: `make loadtest`'s two servers, personas, journal and checks, with faults injected
one after another while the load runs, then a backup taken under load restored and compared.

Phases, each FAULTTEST_SECONDS long (default 15, at most 24: the load runs at most 120 s, plus the time
the users take to sign in and at least 6 s of load after each fault):
  postgres_restart    the test's own PostgreSQL cluster stopped like a crash (pg_ctl -m immediate), then started
  worker_killed       a gunicorn worker of each server SIGKILLed while it holds a request
  redis_restart       the test's own redis-server killed, then started again (empty: no persistence)
  storage_unwritable  the upload folder replaced by a file of the same name, then put back
  backup_drill        pg_dump + IAM export + media copy of one moment, under load; restored afterwards into a
                      new database and folder, and every user's decisions, every image row and file compared

Everything is loopback and the test's own: a PostgreSQL cluster (initdb + pg_ctl from the machine's
binaries, as the postgres OS user, in a temporary folder on a free port), a redis-server on a free
port, the media folder. Judged per fault from the requests and /healthz polled every 0.3 s: answers
during it (a 5xx must be a 503 with Retry-After, never a 500 or a traceback), /healthz naming the part
that is down, seconds until the first successful request after it (for the upload folder, whose
fault never touched reads: until /healthz's write probe succeeds again; the first upload's time is
reported too), failures after that (none: nothing needs a restart). Judged over the whole run from
the journal and the database: loadtest/world.py's checks (no acknowledged write lost, no stale allow
after a revocation, …), writes answered as failed but done, and image rows against files (after
`manage.py tidy_uploads`, as a cron job would run it).
Writes faulttest-report/report.json (and the journal, the requests, the servers' logs) and prints it
with a table; exits 1 when any check is not 0. FAULTTEST_USERS (default 10, at most 30).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loadtest import deployment, fault_backup
from loadtest.fault_services import OwnPostgres, OwnRedis
from loadtest.run import bounded

REPORT = deployment.ROOT / "faulttest-report"
PHASES = ("postgres_restart", "worker_killed", "redis_restart", "storage_unwritable", "backup_drill")
SETTLE = 3.0  # seconds of plain load at the start of each phase, before its fault
LEAD = 12  # seconds from the load's start to the first phase: the users sign in
RECOVERY = 6.0  # seconds of load at least after each fault, judged for recovery
SUCCESS = range(200, 400)


class HealthWatch(threading.Thread):
    """Polls /healthz of every server: (time, server, HTTP status, its JSON)."""

    def __init__(self, servers: list[str]) -> None:
        super().__init__(daemon=True)
        self.servers, self.samples, self.done = servers, [], threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for server in self.servers:
                try:
                    with urllib.request.urlopen(server + "/healthz", timeout=3) as answer:
                        status, body = answer.status, answer.read()
                except urllib.error.HTTPError as error:
                    status, body = error.code, error.read()
                except OSError as error:
                    status, body = 0, json.dumps({"status": f"no answer: {type(error).__name__}"}).encode()
                with contextlib.suppress(ValueError):
                    self.samples.append((time.time(), server, status, json.loads(body)))
            self.done.wait(0.3)


def _workers(server) -> list:
    import psutil

    return psutil.Process(server.pid).children()


def _kill_busy_worker(site, server_index: int, deadline: float) -> dict:
    """SIGKILL a worker of the server while it holds a client connection (a request in flight)."""
    import psutil

    server = site.servers[server_index]
    port = None
    while time.time() < deadline:
        for worker in _workers(server):
            with contextlib.suppress(psutil.Error):
                connections = worker.net_connections(kind="tcp")
                if port is None:
                    port = next((c.laddr.port for c in psutil.Process(server.pid).net_connections(kind="tcp")
                                 if c.status == psutil.CONN_LISTEN), None)
                if any(c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port for c in connections):
                    os.kill(worker.pid, signal.SIGKILL)
                    return {"at": time.time(), "server": server_index + 1, "pid": worker.pid, "in_flight": True}
        time.sleep(0.01)
    worker = _workers(server)[0]
    os.kill(worker.pid, signal.SIGKILL)
    return {"at": time.time(), "server": server_index + 1, "pid": worker.pid, "in_flight": False}


def _swap_folder_for_file(folder: Path, away: Path) -> None:
    """Replace the folder by a file of the same name (root ignores permission bits; this it cannot)."""
    stand_in = folder.with_name(folder.name + ".stand-in")
    stand_in.write_text("the upload folder is away (make faulttest)")
    folder.rename(away)
    os.rename(stand_in, folder)


def _put_folder_back(folder: Path, away: Path) -> None:
    folder.unlink()
    away.rename(folder)


class Faults:
    """The faults, each `inject(hold)` returning what it did; the fault ends when it returns."""

    def __init__(self, site, postgres: OwnPostgres, redis: OwnRedis, work: Path, backup_state) -> None:
        self.site, self.postgres, self.redis, self.work = site, postgres, redis, work
        self.backup_state, self.backup_result = backup_state, None

    def postgres_restart(self, hold: float) -> dict:
        started = time.time()
        self.postgres.stop("immediate")
        stopped = time.time()
        time.sleep(hold)
        self.postgres.start()
        return {"stop": "immediate (no checkpoint: recovery from the WAL)", "stop_s": round(stopped - started, 1),
                "down_s": hold, "start_s": round(time.time() - stopped - hold, 1)}

    def worker_killed(self, hold: float) -> dict:
        """One worker of each server, each while it holds a request; the other worker keeps serving."""
        kills = []
        for n in range(2):
            kills.append(_kill_busy_worker(self.site, n, time.time() + 3))
            time.sleep(hold / 2)
        return {"kills": kills}

    def redis_restart(self, hold: float) -> dict:
        self.redis.stop()
        time.sleep(hold)
        self.redis.start()
        return {"down_s": hold}

    def storage_unwritable(self, hold: float) -> dict:
        folder = self.work / "media" / "images"
        folder.mkdir(parents=True, exist_ok=True)
        away = folder.with_name("images.away")
        _swap_folder_for_file(folder, away)
        time.sleep(hold)
        _put_folder_back(folder, away)
        return {"folder": str(folder), "away_s": hold}

    def backup_drill(self, hold: float) -> dict:
        self.backup_result = fault_backup.backup(self.site.database_url, self.work / "media", self.work / "backup",
                                                 pg_dump=self.postgres.tool("pg_dump"), state=self.backup_state,
                                                 env=self.site.env())
        return self.backup_result


# The part /healthz must name as down during a fault that takes a part away.
EXPECTED_DOWN = {"postgres_restart": "database", "redis_restart": "cache", "storage_unwritable": "storage"}


def _requests_during(requests: list, start: float, end: float) -> list:
    """Requests the fault met: sent during it, or sent before and still waiting for their answer when it began."""
    return [r for r in requests if start <= r[1] <= end or (r[1] < start and r[2] > start)]


def _recovered_at(phase: dict, after: list, samples: list) -> float | None:
    """When the console served again after the fault: the first successful answer (whenever it was sent), or,
    for the upload folder, whose fault never touched reads, the first /healthz whose write probe succeeds."""
    if phase["name"] == "storage_unwritable":
        probe = next((s for s in samples if s[0] > phase["fault_end"] and s[3].get("storage") == "ok"), None)
        return probe[0] if probe else None
    first = next((r for r in after if r[3] in SUCCESS), None)
    return first[2] if first else None


def _by_status(requests: list) -> dict:
    """How many requests were answered with each status, in the status's order as text."""
    return dict(sorted(Counter(str(r[3]) for r in requests).items()))


def _first_upload_at(after: list) -> float | None:
    """When the first upload after the fault was answered successfully (the upload folder's own recovery)."""
    upload = next((r for r in after if r[3] in SUCCESS and r[0] == "upload"), None)
    return upload[2] if upload else None


def _healthz_answers(health: list) -> Counter:
    """/healthz's answers during the fault, as one line each (overall status and each part's)."""
    return Counter(f"{s[3].get('status')}: database {s[3].get('database')}, cache {s[3].get('cache')}, "
                   f"storage {s[3].get('storage')}" for s in health)


def _answer_checks(phase: dict, phase_requests: list, recovered_at: float | None) -> dict:
    """The answers of the phase: a 5xx only as a 503 with Retry-After, no traceback, a recovery, and no
    failure once recovered (nothing needs a restart)."""
    return {
        "server_errors_not_503": sum(1 for r in phase_requests if r[3] >= 500 and r[3] != 503),
        "503_without_retry_after": sum(1 for r in phase_requests if r[3] == 503 and not r[4]),
        "tracebacks_in_answers": sum(1 for r in phase_requests if r[5]),
        "no_success_after_fault": int(recovered_at is None),
        "failures_after_recovery": _failures_after_recovery(phase, phase_requests, recovered_at),
    }


def _failures_after_recovery(phase: dict, phase_requests: list, recovered_at: float | None) -> int:
    """Requests sent after the recovery and answered within the phase (not cut by the next phase's fault)
    that failed: unanswered or a 5xx."""
    return sum(1 for r in phase_requests if recovered_at and r[1] > recovered_at
               and r[2] < phase["end"] and (r[3] == 0 or r[3] >= 500))


def _healthz_checks(phase: dict, health: list) -> dict:
    """For a fault that takes a part away: /healthz named that part as down at least once during it."""
    part = EXPECTED_DOWN.get(phase["name"])
    if not part:
        return {}
    return {"healthz_did_not_name_the_part_down": int(not any(str(s[3].get(part, "")).startswith("down")
                                                              for s in health))}


def _seconds_after(moment: float | None, end: float) -> float | None:
    """Seconds from the fault's end to a moment, or None when the moment never came."""
    return round(moment - end, 2) if moment else None


def _judge_phase(phase: dict, requests: list, samples: list) -> dict:
    """Answers during the fault, recovery, /healthz; the phase's own checks."""
    start, end = phase["fault_start"], phase["fault_end"]
    during = _requests_during(requests, start, end)
    after = sorted((r for r in requests if r[1] >= end), key=lambda r: r[2])  # recovery: whenever it came
    recovered_at, uploaded_at = _recovered_at(phase, after, samples), _first_upload_at(after)
    phase_requests = [r for r in requests if phase["start"] <= r[1] < phase["end"]]
    health = [s for s in samples if start <= s[0] <= end]
    healthy_again = next((s[0] for s in samples if s[0] > end and s[3].get("status") == "ok"), None)
    return {
        "fault_seconds": round(end - start, 1),
        "requests_during_fault": len(during),
        "answers_during_fault": _by_status(during),
        "answers_in_phase": _by_status(phase_requests),
        "seconds_to_recover": _seconds_after(recovered_at, end),
        "healthz_during_fault": dict(_healthz_answers(health).most_common()),
        "healthz_ok_again_after_s": _seconds_after(healthy_again, end),
        "first_upload_after_s": round(uploaded_at - end, 2) if uploaded_at is not None else None,
        "checks": _answer_checks(phase, phase_requests, recovered_at) | _healthz_checks(phase, health),
    }


def _respawned(site, server_index: int, workers: int, killed_pid: int, timeout: float = 15) -> float | None:
    """Seconds until the killed worker's server has its full count of workers again (gunicorn's master)."""
    started = time.time()
    while time.time() - started < timeout:
        pids = {worker.pid for worker in _workers(site.servers[server_index])}
        if len(pids) >= workers and killed_pid not in pids:
            return round(time.time() - started, 2)
        time.sleep(0.05)
    return None


def _run_phases(faults: Faults, seconds: int, workers: int) -> list[dict]:
    timeline = []
    for name in PHASES:
        phase = {"name": name, "start": time.time()}
        time.sleep(SETTLE)
        phase["fault_start"] = time.time()
        phase["did"] = getattr(faults, name)(max(3.0, seconds / 3))
        phase["fault_end"] = time.time()
        if name == "worker_killed":
            for kill in phase["did"]["kills"]:
                kill["respawned_after_s"] = _respawned(faults.site, kill["server"] - 1, workers, kill["pid"])
        time.sleep(max(0.0, phase["start"] + seconds - time.time(), phase["fault_end"] + RECOVERY - time.time()))
        phase["end"] = time.time()
        print(f"== {name}: fault {phase['fault_end'] - phase['fault_start']:.1f} s "
              f"({time.strftime('%H:%M:%S')})", flush=True)
        timeline.append(phase)
    return timeline


def _python(script: str, *args: str, env: dict) -> dict:
    result = subprocess.run([sys.executable, f"loadtest/{script}", *args], cwd=deployment.ROOT, env=env,
                            check=True, capture_output=True, text=True, timeout=600)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _state_reader(site, work: Path, moment_holder: dict):
    """The backup's reader of the console's state at its moment: decisions, rows, files, IAM export."""
    def start(snapshot: str, moment: str):
        moment_holder["moment"] = moment
        env = site.env(IMSPERM_MEDIA_ROOT=str(work / "backup" / "media"))
        return subprocess.Popen([sys.executable, "loadtest/fault_checks.py", "state", str(work / "at-backup.json"),
                                 moment, snapshot], cwd=deployment.ROOT, env=env, stdout=subprocess.DEVNULL)
    return start


def _backup_check(site, postgres: OwnPostgres, work: Path, moment: str) -> dict:
    """Restore the drill's backup into a new database and media folder, read the same state there, compare."""
    restored_db, restored_media = f"{site.name}_restored", work / "restored-media"
    fault_backup.restore(work / "backup", postgres.url, restored_db, restored_media,
                         pg_restore=postgres.tool("pg_restore"))
    env = {**site.env(IMSPERM_MEDIA_ROOT=str(restored_media)), "DATABASE_URL": f"{postgres.url}/{restored_db}"}
    tidied = site.manage("tidy_uploads", "--grace", "0", env=env)  # as the README's restore says
    _python("fault_checks.py", "state", str(work / "restored.json"), moment, env=env)
    files = _python("fault_checks.py", "files", env=env)
    result = fault_backup.compare(json.loads((work / "at-backup.json").read_text()),
                                  json.loads((work / "restored.json").read_text()), work / "backup")
    result["checks"].update({f"restored_{name}": files[name] for name in ("active_without_file", "file_of_wrong_size",
                                                                         "file_without_row", "partial_files")})
    result["tidy_uploads"] = tidied.strip().splitlines()[-1]
    return result


def _start_load(servers: list[str], seconds: int, users: int, files: dict[str, Path], world: Path):
    return subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", "loadtest/locustfile.py", "--headless", "--users", str(users),
         "--spawn-rate", str(users), "--run-time", f"{seconds}s", "--stop-timeout", "10", "--only-summary",
         "--loglevel", "ERROR"],
        cwd=deployment.ROOT, stdout=subprocess.DEVNULL,
        env={**os.environ, "LOADTEST_WORLD": str(world), "LOADTEST_SERVERS": ",".join(servers),
             "LOADTEST_JOURNAL": str(files["journal"]), "LOADTEST_SUMMARY": str(files["summary"]),
             "LOADTEST_REQUESTS": str(files["requests"]), "LOADTEST_STOP_FILE": str(files["stop"])})


def _wait_for_sign_ins(work: Path, users: int, until: float) -> int:
    """The faults start once every user has signed in (hashing passwords takes seconds): until then, or
    `until`, whichever is later. How many sign-ins were answered."""
    def answered() -> int:
        return sum((work / f"server-{n}.access.log").read_text().count("/accounts/login/") for n in (1, 2)) // 2

    while answered() < users and time.time() < until + 20:
        time.sleep(0.2)
    time.sleep(max(0.0, until - time.time()))
    return answered()


def _server_logs(work: Path) -> dict:
    """Tracebacks the servers logged (kept beside the report), per server."""
    counts = {}
    for n in (1, 2):
        log = (work / f"server-{n}.log").read_text(errors="replace")
        (REPORT / f"server-{n}.log").write_text(log)
        counts[f"tracebacks_server_{n}"] = log.count("Traceback")
    return counts


def _print_table(report: dict) -> None:
    print(f"{'fault':20} {'requests':>8} {'recover s':>9}  answers during the fault")
    for name, phase in report["faults"].items():
        answers = ", ".join(f"{status}: {n}" for status, n in phase["answers_during_fault"].items())
        print(f"{name:20} {phase['requests_during_fault']:>8} {phase['seconds_to_recover'] or '-':>9}  {answers}")


def main() -> int:
    seconds = bounded("FAULTTEST_SECONDS", 15, 24)
    users = bounded("FAULTTEST_USERS", 10, 30)
    workers = 2
    began = time.time()
    REPORT.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="imsperm-faulttest-"))
    postgres, redis = OwnPostgres(), OwnRedis(work)
    site = deployment.Deployment(work, postgres_url=postgres.url)
    files = {name: REPORT / f"{name}.json" for name in ("summary", "requests")} | {"journal": REPORT / "journal.jsonl",
                                                                                   "stop": work / "stop-load"}
    world, holder = work / "world.json", {}
    try:
        postgres.start()
        redis.start()
        print(f"== own PostgreSQL on {postgres.port}, own Redis on {redis.port}; preparing {site.name}", flush=True)
        site.create()
        print(f"== created, migrated, seeded ({time.time() - began:.0f} s)", flush=True)
        subprocess.run([sys.executable, "loadtest/world.py", "prepare", str(world)], cwd=deployment.ROOT,
                       env={**site.env(), "LOADTEST_USERS": str(users)}, check=True)
        servers = [site.start_server(workers=workers, redis_url=redis.url, log_name=f"server-{n}") for n in (1, 2)]
        watch = HealthWatch(servers)
        watch.start()
        print(f"== two servers ({workers} workers each): {', '.join(servers)}; {users} users; "
              f"{len(PHASES)} phases of {seconds} s", flush=True)
        load = _start_load(servers, 300, users, files, world)  # ended by the stop file after the phases
        signed_in = _wait_for_sign_ins(work, users, time.time() + LEAD)
        print(f"== {signed_in} users signed in ({time.time() - began:.0f} s)", flush=True)
        timeline = _run_phases(Faults(site, postgres, redis, work, _state_reader(site, work, holder)), seconds, workers)
        files["stop"].touch()
        load.wait(timeout=120)
        watch.done.set()
        site.stop_servers()
        report = _judge(site, postgres, work, world, files, timeline, watch.samples, holder)
        report["wall_seconds"] = round(time.time() - began, 1)
        (REPORT / "report.json").write_text(json.dumps(report, indent=1, default=str))
        print(json.dumps(report, indent=1, default=str))
        _print_table(report)
        failed = {f"{name}.{check}": n for name, phase in report["faults"].items()
                  for check, n in phase["checks"].items() if n}
        failed |= {check: n for check, n in report["checks"].items() if n}
        print("== checks " + ("FAILED: " + json.dumps(failed) if failed else "passed: all zero"))
        return 1 if failed else 0
    finally:
        site.destroy()
        redis.stop()
        postgres.destroy()
        shutil.rmtree(work, ignore_errors=True)  # the servers' logs are kept in the report folder


def _judge(site, postgres: OwnPostgres, work: Path, world: Path, files: dict, timeline: list, samples: list,
           holder: dict) -> dict:
    requests = json.loads(files["requests"].read_text())
    tidied = site.manage("tidy_uploads", "--grace", "0")  # as cron would: leftovers of killed uploads
    verdict = _python("world.py", "verify", str(world), str(files["journal"]), env=site.env())
    writes = _python("fault_checks.py", "writes", str(world), str(files["journal"]), env=site.env())
    images = _python("fault_checks.py", "files", env=site.env())
    backup = _backup_check(site, postgres, work, holder["moment"])
    faults = {phase["name"]: {**_judge_phase(phase, requests, samples), "did": phase["did"]} for phase in timeline}
    faults["backup_drill"]["checks"].update(backup.pop("checks"))
    faults["backup_drill"]["restored"] = backup
    checks = {**verdict["checks"], "failed_but_done": writes["failed_but_done"],
              **{k: images[k] for k in ("active_without_file", "file_of_wrong_size", "file_without_row",
                                        "partial_files")},
              **_server_logs(work)}
    return {"faults": faults, "checks": checks, "journal": verdict["journal"],
            "unanswered_writes": writes["unanswered"], "tidy_uploads": tidied.strip().splitlines()[-1],
            "load": json.loads(files["summary"].read_text()),
            "problems": {**verdict["problems"], "failed_but_done": writes["problems"], "files": images["examples"]}}


if __name__ == "__main__":
    sys.exit(main())
