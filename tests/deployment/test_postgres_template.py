"""The migrated PostgreSQL template (tests/database_templates.py): a database made from it holds exactly what
`migrate` leaves, the template is built once per state of the code and no one connects to it, so the test
databases of CI's PostgreSQL pass and the deployments of `make loadtest` are copies instead of migrations."""

import secrets
import subprocess

import psycopg
import pytest
from django.db.migrations.loader import MigrationLoader

from loadtest import deployment
from tests import database_templates as templates

from .test_two_servers import require

pytestmark = pytest.mark.deployment  # the machine's PostgreSQL server itself, beside the test database


@pytest.fixture
def server():
    require(deployment.postgres_reachable, "IMSPERM_REQUIRE_POSTGRES", "PostgreSQL on 127.0.0.1:5432")
    return deployment.POSTGRES_URL


@pytest.fixture
def made(server):
    name = f"imsperm_template_test_{secrets.token_hex(3)}"
    yield name
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def applied(server: str, name: str) -> set[tuple[str, str]]:
    with psycopg.connect(f"{server}/{name}") as database:
        return set(database.execute("SELECT app, name FROM django_migrations").fetchall())


def test_a_database_made_from_the_template_holds_every_migration_and_the_system_rows(server, made):
    templates.migrated_postgres_database(server, made)
    on_disk = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    assert applied(server, made) == on_disk
    with psycopg.connect(f"{server}/{made}") as database:
        system_policies = database.execute("SELECT count(*) FROM accounts_policy WHERE is_system").fetchone()[0]
    assert system_policies > 0  # the data migrations ran too


def test_the_template_is_built_once_and_closed_to_connections(server, made, monkeypatch):
    template = templates.migrated_postgres_template(server)
    assert template == templates.POSTGRES_TEMPLATE_PREFIX + templates._code_digest()
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: pytest.fail("migrated again"))
    templates.migrated_postgres_database(server, made)  # a copy, no migration
    with pytest.raises(psycopg.OperationalError, match="not currently accepting connections"):
        psycopg.connect(f"{server}/{template}")
