"""Fixtures of the IAM directory pages: a user limited to reading the directory, and handy lookups."""

import pytest

from accounts import services
from accounts.models import Policy, Project, User, UserGroup

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
    policy = services.policy_create(actor=None, name="DirectoryReader", document=DIRECTORY_READER_DOCUMENT)
    group = services.group_create(actor=None, name="readers")
    user, _ = services.user_create(actor=None, username="reader", password="imsperm-demo")
    services.group_add_member(actor=None, group=group, user=user)
    services.grant_attach(actor=None, group=group, policies=[policy], all_resources=True)
    return user


@pytest.fixture
def ops(demo):
    """An empty group to attach things to."""
    return services.group_create(actor=None, name="ops", description="Operators")


def user(name):
    return User.objects.get(username=name)


def group(name):
    return UserGroup.objects.get(name=name)


def policy(name):
    return Policy.objects.get(name=name)


def project(name):
    return Project.objects.get(name=name)
