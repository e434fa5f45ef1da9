"""Production settings from the environment: check --deploy clean, every TLS switch overridable,
the health endpoint, one JSON log line per request and per refusal, and a Redis outage survived."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[2]
CLOSED_PORT_REDIS = "redis://127.0.0.1:6390/0"  # nothing listens there: Redis "down"


def production_settings(**env):
    """The settings a production process computes from `env` (a fresh interpreter, no DJANGO_DEBUG)."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "REDIS_"))}
    environment.update({"DJANGO_SECRET_KEY": "k" * 20 + "-production-like-secret-key-for-the-test-0123456789",
                        "DJANGO_SETTINGS_MODULE": "imsperm.settings", **env})
    code = ("import json; from django.conf import settings as s; print(json.dumps({n: getattr(s, n, None) for n in "
            "['DEBUG', 'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', "
            "'SECURE_PROXY_SSL_HEADER', 'ALLOWED_HOSTS', 'CSRF_TRUSTED_ORIGINS', 'CACHES', 'STORAGES', "
            "'SESSION_ENGINE']} | "
            "{'CONN': {k: s.DATABASES['default'][k] for k in ('CONN_MAX_AGE', 'CONN_HEALTH_CHECKS')}}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True,
                            text=True, timeout=60, check=True)
    return json.loads(result.stdout)


def test_check_deploy_reports_nothing_with_production_settings():
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    environment["DJANGO_SECRET_KEY"] = "k" * 20 + "-production-like-secret-key-for-the-test-0123456789"
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                            env=environment, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_is_https_only_with_kept_connections_by_default():
    settings = production_settings()
    assert settings["DEBUG"] is False
    assert settings["SECURE_SSL_REDIRECT"] and settings["SESSION_COOKIE_SECURE"] and settings["CSRF_COOKIE_SECURE"]
    assert settings["SECURE_HSTS_SECONDS"] >= 31536000
    assert settings["SECURE_PROXY_SSL_HEADER"] is None  # trusting X-Forwarded-Proto is opt-in
    assert settings["CONN"] == {"CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}
    assert settings["STORAGES"]["staticfiles"]["BACKEND"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert settings["CACHES"]["default"]["BACKEND"].endswith("LocMemCache")
    # Without a shared cache, sessions are in the database only: another worker must see a sign-out.
    assert settings["SESSION_ENGINE"] == "django.contrib.sessions.backends.db"


def test_every_switch_comes_from_the_environment():
    settings = production_settings(
        DJANGO_SECURE_SSL_REDIRECT="0", DJANGO_SECURE_COOKIES="0", DJANGO_SECURE_HSTS_SECONDS="0",
        DJANGO_SECURE_PROXY_SSL_HEADER="1", DJANGO_ALLOWED_HOSTS="console.example, 10.0.0.5",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://console.example", DJANGO_CONN_MAX_AGE="300",
        REDIS_URL="redis://10.0.0.9:6379/2")
    assert not settings["SECURE_SSL_REDIRECT"] and not settings["SESSION_COOKIE_SECURE"]
    assert not settings["CSRF_COOKIE_SECURE"] and settings["SECURE_HSTS_SECONDS"] == 0
    assert settings["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert settings["ALLOWED_HOSTS"] == ["console.example", "10.0.0.5"]
    assert settings["CSRF_TRUSTED_ORIGINS"] == ["https://console.example"]
    assert settings["CONN"]["CONN_MAX_AGE"] == 300
    assert settings["CACHES"]["default"]["BACKEND"] == "imsperm.cache.FailSoftRedisCache"
    assert settings["CACHES"]["default"]["LOCATION"] == "redis://10.0.0.9:6379/2"
    assert settings["SESSION_ENGINE"] == "imsperm.sessions"


def test_health_answers_ok_with_the_database_and_the_local_cache(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] == "ok"
    assert response.json()["cache"] == "local"


def test_health_answers_503_when_the_database_does_not_answer(client, db, monkeypatch):
    from django.db import OperationalError, connection

    def unreachable():
        raise OperationalError("connection refused")

    with monkeypatch.context() as patched:
        patched.setattr(connection, "cursor", unreachable)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "down"
    assert response.json()["database"] == "down: OperationalError"


def test_health_refuses_writes(client, db):
    assert client.post("/healthz").status_code == 405


REDIS_DOWN = {"default": {"BACKEND": "imsperm.cache.FailSoftRedisCache", "LOCATION": CLOSED_PORT_REDIS,
                          "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5}}}


@pytest.fixture
def redis_down():
    """The shared cache pointed at a closed port (override_settings renews Django's cache handles)."""
    with override_settings(CACHES=REDIS_DOWN, SESSION_ENGINE="imsperm.sessions"):
        yield


def test_with_redis_down_health_says_degraded_and_signed_in_pages_still_work(client, demo, redis_down):
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {**health.json(), "status": "degraded", "database": "ok", "cache": "down"}
    # Signing in through the form writes the session (database; the cache write is skipped) ...
    signed_in = client.post("/accounts/login/", {"username": "viewer", "password": "imsperm-demo"})
    assert signed_in.status_code == 302
    # ... and the next pages read it back from the database.
    page = client.get("/me/permissions/")
    assert page.status_code == 200
    assert b"viewer" in page.content
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/me/permissions/").status_code == 302  # signed out: back to the sign-in page


def test_every_request_is_one_json_line(client, demo, as_user, caplog):
    as_user("viewer")
    with caplog.at_level(logging.INFO, logger="imsperm.requests"):
        client.get("/me/permissions/")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "imsperm.requests"]
    assert len(lines) == 1
    assert lines[0] | {"duration_ms": 0} == {"event": "request", "user": "viewer", "method": "GET",
                                             "path": "/me/permissions/", "status": 200, "duration_ms": 0}
    assert lines[0]["duration_ms"] > 0


def test_every_refusal_is_one_json_line_repeats_included(client, demo, as_user, caplog):
    as_user("viewer")
    with caplog.at_level(logging.INFO, logger="imsperm.refusals"):
        assert client.get("/iam/users/").status_code == 403
        assert client.get("/iam/users/").status_code == 403
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "imsperm.refusals"]
    assert len(lines) == 2
    assert lines[0]["user"] == "viewer"
    assert lines[0]["action"].startswith("iam:")
    assert lines[0]["target_repr"] == "/iam/users/"
