"""Start the production deployment on loopback: an own PostgreSQL database, Redis under an own key
prefix, static files collected, N gunicorn servers with production settings (plain HTTP).

Used by tests/deployment/test_two_servers.py and loadtest/run.py. Everything it creates is named
after the process id and removed afterwards, so runs never collide with other work on the servers.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get("IMSPERM_DEPLOY_POSTGRES", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("IMSPERM_DEPLOY_REDIS", "redis://127.0.0.1:6379/14")
REDIS_DOWN_URL = "redis://127.0.0.1:6390/0"  # nothing listens there: how "Redis down" is simulated


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_reachable() -> bool:
    import psycopg

    try:
        psycopg.connect(f"{POSTGRES_URL}/postgres", connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


def redis_reachable() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _admin_sql(statement: str, postgres_url: str = POSTGRES_URL) -> None:
    import psycopg

    with psycopg.connect(f"{postgres_url}/postgres", autocommit=True) as connection:
        connection.execute(statement)


def redis_keys(prefix: str) -> list[bytes]:
    import redis

    return list(redis.Redis.from_url(REDIS_URL).scan_iter(match=f"{prefix}:*", count=1000))


def redis_ttl(key: bytes) -> int:
    import redis

    return redis.Redis.from_url(REDIS_URL).ttl(key)


def drop_redis_keys(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = redis_keys(prefix)
    if keys:
        client.delete(*keys)


@dataclass
class Deployment:
    """One database, one key prefix, one static folder; servers started on it share all three."""

    workdir: Path
    name: str = field(default_factory=lambda: f"imsperm_deploy_{os.getpid()}_{secrets.token_hex(3)}")
    servers: list[subprocess.Popen] = field(default_factory=list)
    # The server holding the database: the shared one by default; `make faulttest` passes its own.
    postgres_url: str = POSTGRES_URL

    @property
    def database_url(self) -> str:
        return f"{self.postgres_url}/{self.name}"

    def env(self, redis_url: str = REDIS_URL, **extra) -> dict[str, str]:
        environment = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "REDIS_"))}
        environment.update({
            "DJANGO_SETTINGS_MODULE": "imsperm.settings",
            "DJANGO_SECRET_KEY": "deploy-" + self.name + "-" + "x" * 50,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": redis_url,
            "IMSPERM_CACHE_PREFIX": self.name,
            "IMSPERM_STATIC_ROOT": str(self.workdir / "static"),
            "IMSPERM_MEDIA_ROOT": str(self.workdir / "media"),
            # Plain HTTP on loopback: no TLS proxy in front, so these production defaults are switched off.
            "DJANGO_SECURE_SSL_REDIRECT": "0", "DJANGO_SECURE_COOKIES": "0", "DJANGO_SECURE_HSTS_SECONDS": "0",
            **extra,
        })
        return environment

    def manage(self, *args: str, env: dict | None = None) -> str:
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env or self.env(),
                                capture_output=True, text=True, timeout=300)
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def create(self) -> None:
        """The database, migrated (a copy of the machine's migrated template: tests/database_templates.py)
        and seeded with the demo world; static files collected."""
        from tests.database_templates import migrated_postgres_database

        self.workdir.mkdir(parents=True, exist_ok=True)
        migrated_postgres_database(self.postgres_url, self.name)
        self.manage("seed_demo")
        self.manage("collectstatic", "--noinput")

    def start_server(self, *, workers: int = 2, redis_url: str = REDIS_URL, log_name: str = "server") -> str:
        """One gunicorn server (production settings, plain HTTP); returns its base URL once it answers."""
        port = free_port()
        log = open(self.workdir / f"{log_name}.log", "ab")  # noqa: SIM115 (closed with the server)
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "imsperm/gunicorn.conf.py", "imsperm.wsgi",
             "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
             "--access-logfile", str(self.workdir / f"{log_name}.access.log"), "--access-logformat", "%(p)s %(U)s"],
            cwd=ROOT, env=self.env(redis_url), stdout=log, stderr=log)
        server.log_file = log
        self.servers.append(server)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, urllib.error.URLError):
                urllib.request.urlopen(base + "/healthz", timeout=2).read()
                return base
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {(self.workdir / f'{log_name}.log').read_text()[-2000:]}")
            time.sleep(0.2)
        raise RuntimeError(f"{base} did not answer within 60 s")

    def stop_servers(self) -> None:
        for server in self.servers:
            server.terminate()
        for server in self.servers:
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            server.log_file.close()
        self.servers.clear()

    def destroy(self) -> None:
        """Stop the servers, drop the database and the Redis keys."""
        self.stop_servers()
        _admin_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)', self.postgres_url)
        with contextlib.suppress(Exception):
            drop_redis_keys(self.name)
