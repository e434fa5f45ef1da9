"""The demo's rows by name, for tests: user("viewer"), group("viewers"), policy(...), project(...)."""

from accounts.models import Policy, Project, User, UserGroup


def user(name):
    return User.objects.get(username=name)


def group(name):
    return UserGroup.objects.get(name=name)


def policy(name):
    return Policy.objects.get(name=name)


def project(name):
    return Project.objects.get(name=name)
