"""Helpers of the IAM-as-code tests: the demo export, edited as data, and an account wiped to its system rows."""

import json

import pytest

from accounts import iac
from accounts.models import Grant, Membership, Policy, Project, Region, User, UserGroup
from images.models import Image


@pytest.fixture
def exported(demo):
    """The demo account's configuration, as text and as data."""
    text = iac.export_text()
    return text, json.loads(text)


def text_of(data: dict) -> str:
    return json.dumps(data, indent=2)


def wipe_to_system_rows():
    """What a fresh database holds after `migrate`: the admin group and the system roles and policies."""
    Image.objects.all().delete()
    Grant.objects.all().delete()
    Membership.objects.all().delete()
    UserGroup.objects.exclude(is_builtin=True).delete()
    Policy.objects.filter(is_system=False).delete()
    User.objects.all().delete()
    Project.objects.all().delete()
    Region.objects.all().delete()


def find(items, **wanted):
    """The index and entry of the list item whose fields match."""
    for index, item in enumerate(items):
        if all(item.get(key) == value for key, value in wanted.items()):
            return index, item
    raise LookupError(wanted)
