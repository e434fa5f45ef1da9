"""Access requests (issue 21): handy lookups and a frozen engine clock."""

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest

from accounts import services
from accounts.models import User, UserGroup
from accounts.services import access_requests as service
from tests.demo_rows import group, policy, project, user  # noqa: F401  (the tests import them from here)

T0 = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)


def frozen(moment):
    """Freeze the engine's clock (authz.clock reads django.utils.timezone.now)."""
    return mock.patch("django.utils.timezone.now", return_value=moment)


def let_ask(someone):
    """Put `someone` in a group holding IAM AccessRequestSelfService on All resources (asking needs
    iam:accessRequests:create, as seed_demo grants it to the personas who work with images)."""
    askers = UserGroup.objects.filter(name="askers").first()
    if askers is None:
        askers = services.group_create(actor=None, name="askers", description="May ask for access")
        services.grant_attach(actor=None, group=askers, policies=[policy("IAM AccessRequestSelfService")],
                              all_resources=True)
    services.group_add_member(actor=None, group=askers, user=someone)
    return someone


def ask_delete(requester="viewer", where="cn-north-4", hours=8, why="Clean up the broken test images"):
    """viewer asks for ims:images:delete in cn-north-4 for 8 hours."""
    return service.ask(actor=user(requester), action="ims:images:delete", project=project(where),
                       duration=timedelta(hours=hours), justification=why)


@pytest.fixture(autouse=True)
def addresses(db):
    """The demo personas have no e-mail address; give them one, so what they are told can be read."""
    for someone in User.objects.all():
        someone.email = f"{someone.username}@example.test"
        someone.save(update_fields=["email"])


@pytest.fixture
def at_t0():
    with frozen(T0):
        yield T0
