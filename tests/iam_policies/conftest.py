"""Fixtures of the policy pages' tests: policies of the demo world and a fresh custom policy."""

import pytest

from accounts import services
from accounts.models import Policy

SCRATCH_DOCUMENT = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]}


@pytest.fixture
def policy_named(demo):
    """policy_named("IMS FullAccess") -> the Policy of the demo world."""

    def find(name):
        return Policy.objects.get(name=name)

    return find


@pytest.fixture
def scratch_policy(demo):
    """A custom policy attached to no group, which tests may edit or delete."""
    return services.policy_create(actor=None, name="Scratch", description="For tests", document=SCRATCH_DOCUMENT)
