"""Grid cells say when the answer depends on the image, and tell explicit from implicit denies."""

import re

import pytest

from accounts import services
from accounts.models import Policy, User

pytestmark = pytest.mark.usefixtures("demo")


def grant_to_new_user(username, document):
    policy = services.policy_create(actor=None, name=f"{username}-policy", document=document)
    group = services.group_create(actor=None, name=f"{username}-group")
    user, _ = services.user_create(actor=None, username=username, password="grid-pass-1")
    services.group_add_member(actor=None, group=group, user=user)
    services.grant_attach(actor=None, group=group, policies=[policy], all_resources=True)
    return user


def states(client, url="/me/permissions/"):
    html = client.get(url).content.decode()
    return dict(re.findall(r'data-project="cn-north-4" data-actions="([^"]+)"\s+data-allowed="[a-z]+" '
                           r'data-state="([a-z-]+)"', html)), html


def test_a_conditional_deny_is_not_a_plain_allow(client):
    user = grant_to_new_user("tagged", {"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["ims:*:*"]},
        {"Effect": "Deny", "Action": ["ims:images:delete"],
         "Condition": {"StringEquals": {"ims:ResourceTag/env": ["prod"]}}}]})
    client.force_login(user)
    found, html = states(client)
    assert found["ims:images:delete"] == "allow-except"
    assert found["ims:images:update"] == "allow"
    assert "Allowed, denied for some images" in html


def test_a_conditional_allow_is_not_a_plain_deny(client):
    user = grant_to_new_user("private-only", {"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["ims:images:list"]},
        {"Effect": "Allow", "Action": ["ims:images:delete"],
         "Condition": {"StringEquals": {"ims:ImageType": ["private"]}}}]})
    client.force_login(user)
    found, html = states(client)
    assert found["ims:images:delete"] == "conditional" and "Allowed with conditions" in html
    assert found["ims:images:update"] == "not-granted"


def test_explicit_and_implicit_denies_look_different(client):
    client.force_login(User.objects.get(username="developer"))
    html = client.get("/me/permissions/").content.decode()
    dev = dict(re.findall(r'data-project="cn-north-4_dev" data-actions="([^"]+)"\s+data-allowed="[a-z]+" '
                          r'data-state="([a-z-]+)"', html))
    assert dev["ims:images:delete"] == "explicit-deny"
    found, _ = states(client)
    assert found["ims:images:delete"] == "not-granted"


def test_the_simulator_grid_uses_the_same_cells(as_user):
    grant_to_new_user("tagged", {"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["ims:*:*"]},
        {"Effect": "Deny", "Action": ["ims:images:delete"],
         "Condition": {"StringEquals": {"ims:ResourceTag/env": ["prod"]}}}]})
    html = as_user("admin").get("/iam/simulator/effective/", {"user": "tagged"}).content.decode()
    row = re.search(r'<tr data-action="ims:images:delete">(.*?)</tr>', html, re.S).group(1)
    assert 'data-project="cn-north-4" data-outcome="allow" data-state="allow-except"' in row
    assert Policy.objects.filter(name="tagged-policy").exists()
