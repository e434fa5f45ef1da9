"""`make loadtest`: two gunicorn servers on PostgreSQL and Redis under locust, then the checks.

Loopback only. LOADTEST_SECONDS (default 60, at most 120), LOADTEST_USERS (default 20, at most
50), LOADTEST_WORKERS gunicorn workers per server (default 2); LOADTEST_REDIS=down points the
servers at a closed port instead of Redis (the console must stay correct on the database).
Needs PostgreSQL on 127.0.0.1:5432 (user postgres) and Redis on 127.0.0.1:6379; creates its own
database and Redis key prefix and removes both afterwards. Prints throughput, latency
percentiles, answers by status and the checks of loadtest/world.py, keeps them in
loadtest-report/, and exits 1 when a check fails or any answer was a 5xx.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from imsperm import password_hashing
from loadtest import deployment, figures

REPORT = deployment.ROOT / "loadtest-report"


def bounded(name: str, default: int, most: int) -> int:
    value = int(os.environ.get(name, default))
    if not 1 <= value <= most:
        raise SystemExit(f"{name} must be between 1 and {most}, not {value}.")
    return value


def _hashing_seconds(process) -> float:
    """CPU of the process's password-hashing thread (imsperm/password_hashing.py names it for the system)."""
    total = 0.0
    for thread in process.threads():
        try:
            name = Path(f"/proc/{process.pid}/task/{thread.id}/comm").read_text().strip()
        except OSError:  # the thread has ended
            continue
        if name == password_hashing.THREAD_NAME:
            total += thread.user_time + thread.system_time
    return total


def cpu_seconds(site) -> dict[str, float]:
    """CPU the run cost: the gunicorn servers (every process, every thread), the part of it that hashed
    passwords for sign-ins, and the PostgreSQL backends of the run's database."""
    import psutil  # comes with locust

    def used(processes, part=lambda process: sum(process.cpu_times()[:2])):
        total = 0.0
        for process in processes:
            try:
                total += part(process)
            except psutil.Error:
                continue
        return round(total, 1)

    servers = [psutil.Process(server.pid) for server in site.servers]
    processes = servers + [child for server in servers for child in server.children(recursive=True)]
    backends = [p for p in psutil.process_iter(["cmdline"]) if site.name in " ".join(p.info["cmdline"] or [])]
    return {"app_servers": used(processes), "password_hashing": used(processes, _hashing_seconds),
            "postgresql": used(backends)}


def first_traceback(log: str, lines: int = 40) -> str:
    """The log's first traceback with the line before it (the message that logged it), bounded."""
    rows = log.splitlines()
    start = next(i for i, row in enumerate(rows) if "Traceback" in row)
    return "\n".join(rows[max(start - 1, 0):start + lines])


def _locust(world: Path, servers: list[str], journal: Path, summary: Path, seconds: int, users: int) -> None:
    """The load itself: locust's personas against both servers, journaling every write and refusal."""
    subprocess.run([sys.executable, "-m", "locust", "-f", "loadtest/locustfile.py", "--headless",
                    "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{seconds}s",
                    "--stop-timeout", "10", "--only-summary", "--loglevel", "WARNING"],
                   cwd=deployment.ROOT, check=False,
                   env={**os.environ, "LOADTEST_WORLD": str(world), "LOADTEST_SERVERS": ",".join(servers),
                        "LOADTEST_JOURNAL": str(journal), "LOADTEST_SUMMARY": str(summary)})


def _answer_checks(result: dict) -> None:
    """Answers that are faults whatever the database holds: a 5xx, or one its request did not expect."""
    server_errors = sum(n for status, n in result["load"]["by_status"].items() if status.startswith("5"))
    result["checks"]["5xx"] = server_errors
    # An answer its request did not expect (a 409 for a save, a 405 for a page) is a fault too: the
    # run failed on main unnoticed while every modify answered 409 (issue 19).
    result["checks"]["unexpected_answers"] = sum(result["load"]["unexpected"].values())


def _server_log_checks(result: dict, work: Path) -> None:
    """The servers' own logs: any traceback is a fault even if answered; the first one is printed."""
    for n in (1, 2):
        log = (work / f"server-{n}.log").read_text(errors="replace")
        (REPORT / f"server-{n}.log").write_text(log)  # kept beside the report: CI's output shows why
        result["checks"][f"tracebacks_server_{n}"] = log.count("Traceback")
        if "Traceback" in log:
            print(f"== the first traceback in server-{n}.log:\n{first_traceback(log)}")


def _reported(result: dict) -> int:
    """Keep and print the report; the exit code: 1 when any check is not zero."""
    (REPORT / "report.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    if "targets" in result:
        print(figures.targets_table(result["targets"]))
        print(f"   (the machine's speed meanwhile: {result.get('hashing_ms_per_sign_in')} ms of CPU per sign-in's "
              "password hash, the same work in every run)")
    failed = {name: count for name, count in result["checks"].items() if count}
    print("== checks " + ("FAILED: " + json.dumps(failed) if failed else "passed: all zero"))
    return 1 if failed else 0


def main() -> int:
    seconds = bounded("LOADTEST_SECONDS", 60, 120)
    users = bounded("LOADTEST_USERS", 20, 50)
    workers = bounded("LOADTEST_WORKERS", 2, 8)
    redis_down = os.environ.get("LOADTEST_REDIS", "up") == "down"
    redis_url = deployment.REDIS_DOWN_URL if redis_down else deployment.REDIS_URL
    if not (deployment.postgres_reachable() and deployment.redis_reachable()):
        raise SystemExit("make loadtest needs PostgreSQL on 127.0.0.1:5432 (user postgres) "
                         "and Redis on 127.0.0.1:6379.")
    REPORT.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="imsperm-loadtest-"))
    site = deployment.Deployment(work)
    world, journal, summary = work / "world.json", REPORT / "journal.jsonl", REPORT / "locust-summary.json"
    try:
        print(f"== preparing {site.name} (PostgreSQL database, Redis prefix), {users} users, {seconds} s")
        site.create()
        subprocess.run([sys.executable, "loadtest/world.py", "prepare", str(world)], cwd=deployment.ROOT,
                       env={**site.env(), "LOADTEST_USERS": str(users)}, check=True)
        servers = [site.start_server(workers=workers, redis_url=redis_url, log_name=f"server-{n}") for n in (1, 2)]
        print(f"== two servers ({workers} workers each, Redis {'down' if redis_down else 'up'}): {', '.join(servers)}")
        started, at_start = time.time(), cpu_seconds(site)  # the servers' start-up is not the load's
        _locust(world, servers, journal, summary, seconds, users)
        cpu = {part: round(used - at_start[part], 1) for part, used in cpu_seconds(site).items()}
        site.stop_servers()
        verdict = subprocess.run([sys.executable, "loadtest/world.py", "verify", str(world), str(journal)],
                                 cwd=deployment.ROOT, env=site.env(), check=True, capture_output=True, text=True)
        result = {"servers": 2, "workers_per_server": workers, "redis": "down" if redis_down else "up",
                  "cores": os.cpu_count(), "users": users,
                  "load": json.loads(summary.read_text()), **json.loads(verdict.stdout.strip().splitlines()[-1]),
                  "cpu_seconds": cpu, "cpu_seconds_before_load": at_start,
                  "load_average_1min": round(os.getloadavg()[0], 1),
                  "wall_seconds": round(time.time() - started, 1)}
        requests = result["load"]["requests"]
        per_request = result["cpu_ms_per_request"] = figures.cpu_per_request(cpu, requests)
        result["hashing_ms_per_sign_in"] = figures.hashing_ms_per_sign_in(cpu, result["load"].get("sign_ins"))
        result["targets"] = figures.targets(result["load"], per_request["app_servers_without_hashing"])
        _answer_checks(result)
        _server_log_checks(result, work)
        return _reported(result)
    finally:
        site.destroy()


if __name__ == "__main__":
    sys.exit(main())
