"""Fixtures of the IAM directory pages: a user limited to reading the directory, and handy lookups."""

import pytest

from accounts import services
from tests.demo_rows import group, policy, project, user  # noqa: F401  (the tests import them from here)

DIRECTORY_READER_DOCUMENT = {
    "Version": "1.1",
    "Statement": [{"Effect": "Allow", "Action": [
        "iam:users:listUsers", "iam:users:getUser", "iam:groups:listGroups", "iam:groups:getGroup",
        "iam:permissions:listPermissions", "iam:permissions:grantPermission",
    ]}],
}


@pytest.fixture
def reader(demo):
    """'reader' may read users, groups and grants, and grant, but change nothing else."""
    reading = services.policy_create(actor=None, name="DirectoryReader", document=DIRECTORY_READER_DOCUMENT)
    readers = services.group_create(actor=None, name="readers")
    person, _ = services.user_create(actor=None, username="reader", password="imsperm-demo")
    services.group_add_member(actor=None, group=readers, user=person)
    services.grant_attach(actor=None, group=readers, policies=[reading], all_resources=True)
    return person


@pytest.fixture
def ops(demo):
    """An empty group to attach things to."""
    return services.group_create(actor=None, name="ops", description="Operators")


