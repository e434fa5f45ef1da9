"""The pieces `make faulttest` breaks, all its own: a PostgreSQL cluster and a Redis server on free
loopback ports, in a temporary folder, started and stopped by the test — never the shared ones.

PostgreSQL refuses to run as root, so the cluster belongs to the `postgres` OS user (runuser when
the test runs as root); its binaries are the machine's (/usr/lib/postgresql/<version>/bin).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from loadtest.deployment import free_port


def postgres_bin() -> Path:
    """The newest PostgreSQL's binaries on this machine (the folder holding initdb and pg_ctl)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        return Path(pg_ctl).parent
    raise SystemExit("make faulttest needs PostgreSQL's server binaries (initdb, pg_ctl): none found.")


def _as_postgres(*command: str, **kwargs) -> subprocess.CompletedProcess:
    """Run a PostgreSQL server command as the postgres OS user (as is when the test is not root)."""
    if os.geteuid() == 0:
        command = ("runuser", "-u", "postgres", "--", *command)
    return subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)


class OwnPostgres:
    """A throwaway cluster: trust authentication on 127.0.0.1 only, its socket in its own folder."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.folder = Path(tempfile.mkdtemp(prefix="imsperm-faulttest-pg-"))
        self.data, self.log = self.folder / "data", self.folder / "postgres.log"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        result = _as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                              "-E", "UTF8", "--no-sync", "--no-instructions")
        if result.returncode:
            raise RuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}"

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c max_connections=60 "
                   "-c shared_buffers=32MB")
        result = _as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
                              "-w", "-t", "60", "start")
        if result.returncode:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed:\n{result.stdout}\n{result.stderr}\n{log}")

    def stop(self, mode: str = "immediate") -> None:
        """`immediate` is a crash as far as the data goes: no checkpoint, recovery from the WAL at start."""
        _as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def tool(self, name: str) -> str:
        return str(self.bin / name)

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("fast")
        shutil.rmtree(self.folder, ignore_errors=True)


class OwnRedis:
    """redis-server on a free port, no persistence: stopping it loses every key, as a crash would."""

    def __init__(self, folder: Path) -> None:
        if not shutil.which("redis-server"):
            raise SystemExit("make faulttest needs redis-server on the PATH.")
        self.port, self.folder = free_port(), folder
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115 (closed with the process)
        self.process = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                         "--save", "", "--appendonly", "no", "--dir", str(self.folder)],
                                        stdout=log, stderr=log)
        self.process.log_file = log
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError):
                if redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping():
                    return
            time.sleep(0.1)
        raise RuntimeError(f"redis-server on {self.port} did not answer within 20 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # SIGKILL: gone at once, like a crashed server
            self.process.wait()
            self.process.log_file.close()
            self.process = None
