"""Decisions that cannot go stale or be asked around the engine (issue 7, item 5)."""

import json

import pytest
from asgiref.sync import async_to_sync

from accounts import authz, services
from accounts.models import Project, Region, User


def _grant_in(project_name: str, username: str) -> User:
    policy = services.policy_create(actor=None, name="ReadHere", document={
        "Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]})
    group = services.group_create(actor=None, name="here")
    user, _ = services.user_create(actor=None, username=username, password="x-pass-123")
    services.group_add_member(actor=None, group=group, user=user)
    services.grant_attach(actor=None, group=group, policies=[policy], all_resources=False,
                          projects=[Project.objects.get(name=project_name)])
    return user


def test_renaming_a_project_renews_decisions(demo):
    user = _grant_in("eu-west-101", "scoped")
    assert authz.decide(user, "ims:images:list", "eu-west-101").allowed
    before = authz.current_stamp()
    project = Project.objects.get(name="eu-west-101")
    project.name = "eu-west-101_renamed"
    project.save()
    assert authz.current_stamp() != before
    authz.forget(user)
    assert authz.decide(user, "ims:images:list", "eu-west-101_renamed").allowed
    assert not authz.decide(user, "ims:images:list", "eu-west-101").allowed


def test_renaming_a_region_renews_decisions(demo):
    before = authz.current_stamp()
    region = Region.objects.get(code="eu-west-101")
    region.name = "EU-Dublin (renamed)"
    region.save()
    assert authz.current_stamp() != before


@pytest.mark.parametrize("username, expected", [("admin", True), ("viewer", False), ("newcomer", False)])
def test_async_permission_checks_ask_the_same_engine(demo, username, expected):
    user = User.objects.get(username=username)
    user.is_superuser = True  # a superuser flag opens no door: only the admin group allows everything
    assert async_to_sync(user.ahas_perm)("ims:images:delete") is expected
    assert user.has_perm("ims:images:delete") is expected
    assert async_to_sync(user.ahas_perms)(["ims:images:delete", "ims:images:list"]) is expected
    assert async_to_sync(user.ahas_module_perms)("accounts") is (username == "admin")
    assert async_to_sync(user.aget_all_permissions)() == set()


def test_async_check_agrees_with_the_engine_for_a_read_only_user(demo):
    viewer = User.objects.get(username="viewer")
    assert async_to_sync(viewer.ahas_perm)("ims:images:list") is True
    assert async_to_sync(viewer.ahas_perm)("images.view_image") is True
    assert async_to_sync(viewer.ahas_perm)("images.delete_image") is False


def test_with_perm_lists_who_the_engine_allows(demo):
    from django.contrib.auth import get_backends

    from accounts.backends import PolicyBackend

    backend = next(b for b in get_backends() if isinstance(b, PolicyBackend))
    allowed = set(backend.with_perm("iam:users:createUser").values_list("username", flat=True))
    assert allowed == {"admin", "iam-admin"}


def test_a_pasted_policy_and_the_same_policy_granted_agree(demo, as_user):
    """The simulator builds the pasted policy's context with the function real requests use (g:UserName…)."""
    document = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"],
                                                 "Condition": {"StringEquals": {"g:UserName": ["iam-admin"]},
                                                               "IpAddress": {"g:SourceIp": ["127.0.0.0/8"]}}}]}
    browser = as_user("iam-admin")
    response = browser.get("/iam/simulator/", {"subject": "document", "document": json.dumps(document),
                                               "actions": "ims:images:list", "project": "cn-north-4"},
                           REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert "Allowed by the pasted policy" in response.content.decode()
    elsewhere = browser.get("/iam/simulator/", {"subject": "document", "document": json.dumps(document),
                                                "actions": "ims:images:list", "project": "cn-north-4"},
                            REMOTE_ADDR="10.9.9.9")
    assert "Allowed by the pasted policy" not in elsewhere.content.decode()


def test_the_project_switcher_shows_a_new_or_renamed_project_on_the_next_request(demo, as_user):
    """The project list is kept per process at one authorization stamp: a change bumps it."""
    client = as_user("admin")
    assert b"eu-west-101_fresh" not in client.get("/images/").content  # warms the process's list
    region = Region.objects.get(code="eu-west-101")
    created = services.project_create(actor=None, region=region, name="eu-west-101_fresh")
    assert b"eu-west-101_fresh" in client.get("/images/").content
    services.project_update(actor=None, project=created, name="eu-west-101_later", description="")
    page = client.get("/images/").content
    assert b"eu-west-101_later" in page and b"eu-west-101_fresh" not in page


def test_the_project_switcher_enables_a_project_on_the_request_after_a_grant(demo, client):
    """The switcher is drawn once per process for each state it shows (the projects, the current one, those the
    user holds anything in): a grant changes that state, so the next request draws it anew."""
    user = _grant_in("eu-west-101", "switching")
    client.force_login(user)
    option = b'<option value="cn-north-4" disabled'
    assert option in client.get("/images/?project=eu-west-101").content
    group = user.iam_groups.get()
    services.grant_attach(actor=None, group=group, policies=[group.grants.get().policy], all_resources=False,
                          projects=[Project.objects.get(name="cn-north-4")])
    page = client.get("/images/?project=eu-west-101").content
    assert b'<option value="cn-north-4"' in page and option not in page
