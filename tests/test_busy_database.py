"""A busy database answers 503 with Retry-After, never 500: pages, htmx, the API, and faults outside the view.

"Busy" is SQLite's "database is locked" after its bounded wait, and PostgreSQL's lock_timeout,
statement_timeout, deadlocks, serialization failures and lost or refused connections. Any other
database error is still a server fault (500). The settings bound the wait: SQLite's timeout and
PostgreSQL's lock_timeout.
"""

import pytest
from django.db import OperationalError
from django.test import Client

from accounts import iac

EXPORT = "/iam/config/export.json"


def locked(*args, **kwargs):
    raise OperationalError("database is locked")


def postgres_error(sqlstate: str, message: str):
    import psycopg

    cause = next(cls for cls in psycopg.errors.__dict__.values() if isinstance(cls, type)
                 and issubclass(cls, psycopg.Error) and getattr(cls, "sqlstate", None) == sqlstate)
    error = OperationalError(message)
    error.__cause__ = cause(message)
    return error


def test_a_locked_database_in_a_page_answers_the_consoles_503(as_user, demo, monkeypatch):
    monkeypatch.setattr(iac, "export_text", locked)
    response = as_user("iam-admin").get(EXPORT)
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    body = response.content.decode()
    assert 'data-testid="busy"' in body and "busy" in body.lower()


def test_a_locked_database_in_an_htmx_request_answers_a_503_fragment(as_user, demo, monkeypatch):
    monkeypatch.setattr(iac, "export_text", locked)
    response = as_user("iam-admin").get(EXPORT, headers={"HX-Request": "true"})
    assert response.status_code == 503 and response["Retry-After"]
    assert response["HX-Retarget"] == "#messages"
    assert 'data-testid="refusal"' in response.content.decode()


def test_a_locked_database_in_the_api_answers_json_503(client, demo, monkeypatch):
    from api.auth import TokenAuth

    monkeypatch.setattr(TokenAuth, "authenticate", lambda self, request, token: locked())
    response = client.post("/api/v1/authorize", {"user": "viewer", "requests": []}, content_type="application/json",
                           headers={"Authorization": "Bearer imsp_whatever"})
    assert response.status_code == 503 and int(response["Retry-After"]) > 0
    assert response["Content-Type"].startswith("application/json")
    assert "busy" in response.json()["detail"]


def test_a_locked_database_outside_the_view_answers_503_too(as_user, demo, monkeypatch):
    """A fault in a middleware (the session's here) never reaches the view's handler: handler500 answers."""
    from django.contrib.sessions.middleware import SessionMiddleware

    browser = as_user("iam-admin")
    calm = Client(raise_request_exception=False)
    calm.cookies = browser.cookies
    monkeypatch.setattr(SessionMiddleware, "process_request", lambda self, request: locked())
    response = calm.get("/iam/config/")
    assert response.status_code == 503 and response["Retry-After"]
    api = calm.get("/api/v1/openapi.json")
    assert api.status_code == 503 and api["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(("sqlstate", "message"), [
    ("55P03", "canceling statement due to lock timeout"),
    ("57014", "canceling statement due to statement timeout"),
    ("40P01", "deadlock detected"),
    ("40001", "could not serialize access due to concurrent update"),
    ("57P03", "the database system is starting up"),
    ("53300", "sorry, too many clients already"),
])
def test_postgresql_busy_errors_are_503(as_user, demo, monkeypatch, sqlstate, message):
    def fail(*args, **kwargs):
        raise postgres_error(sqlstate, message)
    monkeypatch.setattr(iac, "export_text", fail)
    response = as_user("iam-admin").get(EXPORT)
    assert response.status_code == 503 and response["Retry-After"]


@pytest.mark.parametrize("message", ["connection failed: Connection refused",
                                     "server closed the connection unexpectedly", "database table is locked",
                                     "database is locked"])
def test_busy_messages_are_recognised(message):
    from imsperm import busy

    assert busy.is_busy(OperationalError(message))


@pytest.mark.parametrize("message", ["no such table: accounts_user", "no such column: x"])
def test_other_database_errors_stay_server_faults(as_user, demo, monkeypatch, message):
    from imsperm import busy

    assert not busy.is_busy(OperationalError(message))

    def fail(*args, **kwargs):
        raise OperationalError(message)
    monkeypatch.setattr(iac, "export_text", fail)
    browser = as_user("iam-admin")
    calm = Client(raise_request_exception=False)
    calm.cookies = browser.cookies
    assert calm.get(EXPORT).status_code == 500


def test_the_wait_for_a_lock_is_bounded(settings, db):
    from django.db import connection

    options = settings.DATABASES["default"].get("OPTIONS", {})
    if connection.vendor == "sqlite":
        assert 0 < options["timeout"] <= 10
    else:
        with connection.cursor() as cursor:
            cursor.execute("SHOW lock_timeout")
            assert cursor.fetchone()[0] not in ("0", "")
