"""Invalidation, model by model: a write to a row a decision reads bumps the authorization stamp once
(accounts/signals.py, the one mechanism); a write to anything else bumps nothing."""

import pytest
from django.utils import timezone

from accounts import authz
from accounts.models import AuditEvent, Grant, GrantLastUsed, Membership, Policy, Project, Region, User, UserGroup
from images.models import Image, ImageTag

pytestmark = pytest.mark.usefixtures("demo")


@pytest.fixture
def bumps(monkeypatch):
    """How many times the stamp was bumped since the test began."""
    calls = []
    real = authz.bump_stamp
    monkeypatch.setattr(authz, "bump_stamp", lambda: (calls.append(1), real())[1])
    return calls


def _policy():
    return Policy.objects.create(name="stamp-test", document={"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["ims:images:list"]}]})


WRITES = {
    "user created": lambda: User.objects.create(username="stamp-user"),
    "user deactivated": lambda: _with(User.objects.get(username="viewer"), is_active=False).save(),
    "user deleted": lambda: User.objects.get(username="newcomer").delete(),
    "group created": lambda: UserGroup.objects.create(name="stamp-group"),
    "group renamed": lambda: _with(UserGroup.objects.get(name="viewers"), name="viewers-2").save(),
    "membership added": lambda: Membership.objects.create(user=User.objects.get(username="newcomer"),
                                                          group=UserGroup.objects.get(name="viewers")),
    "policy created": _policy,
    "policy edited": lambda: _with(Policy.objects.filter(is_system=False).first() or _policy(),
                                   description="changed").save(),
    "grant deleted": lambda: Grant.objects.filter(all_resources=False).first().delete(),
    "grant's projects changed": lambda: Grant.objects.filter(all_resources=False).first().projects.clear(),
    "project renamed": lambda: _with(Project.objects.get(name="cn-north-4_dev"), description="x").save(),
    "region renamed": lambda: _with(Region.objects.get(code="cn-north-4"), name="Beijing").save(),
}


def _with(row, **values):
    for name, value in values.items():
        setattr(row, name, value)
    return row


@pytest.mark.parametrize("write", WRITES)
def test_a_write_to_a_row_a_decision_reads_bumps_the_stamp(write, bumps):
    before = authz.current_stamp()
    WRITES[write]()
    # A delete bumps once per row it takes along (a user's memberships); any other write exactly once.
    assert len(bumps) >= 1 if "deleted" in write else len(bumps) == 1
    assert authz.current_stamp() != before


QUIET_WRITES = {
    "sign-in's last_login": lambda: User.objects.get(username="viewer").save(update_fields=["last_login"]),
    "password change": lambda: _with(User.objects.get(username="viewer"), password="x").save(
        update_fields=["password"]),
    "image edited": lambda: _with(Image.objects.first(), description="quiet").save(),
    "image tag added": lambda: ImageTag.objects.create(image=Image.objects.first(), key="quiet", value="1"),
    "audit event": lambda: AuditEvent.objects.create(action="test", outcome=AuditEvent.Outcome.ALLOWED),
    "grant last used": lambda: GrantLastUsed.objects.create(grant=Grant.objects.first(), action="ims:images:list",
                                                            last_used_at=timezone.now()),
}


@pytest.mark.parametrize("write", QUIET_WRITES)
def test_a_write_no_decision_reads_bumps_nothing(write, bumps):
    before = authz.current_stamp()
    QUIET_WRITES[write]()
    assert bumps == []
    assert authz.current_stamp() == before


def test_a_project_service_bumps_through_the_receivers_only(bumps):
    """Project and region services bumped by hand as well as through the receivers (twice per change)."""
    from accounts import services

    region = Region.objects.get(code="cn-north-4")
    project = services.project_create(actor=None, region=region, name="cn-north-4_stampcheck")
    assert len(bumps) == 1
    bumps.clear()
    services.project_update(actor=None, project=project, name=project.name, description="once")
    assert len(bumps) == 1
