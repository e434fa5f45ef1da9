"""Who-can pages (project, image), the grid of a group or a policy, and the role dependency picture:
refusals, answers the engine gives, bad input, and query counts that do not grow with users."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import authz, services
from accounts.management.commands.seed_demo import demo_id
from accounts.models import Membership, Policy, User, UserGroup

pytestmark = pytest.mark.usefixtures("demo")

WHO_CAN = "/iam/simulator/who-can/"
IMAGE = demo_id("cn-north-4-ubuntu-system-00")
DEV_IMAGE = demo_id("cn-north-4-dev-centos-system-00")


def listed(text, testid):
    section = text.split(f'data-testid="{testid}"', 1)[1].split("</section>", 1)[0]
    return set(re.findall(r'<tr data-user="([^"]+)"', section))


def test_who_can_refusals(client, as_user):
    url = WHO_CAN + "?action=ims:images:delete&project=cn-north-4"
    assert client.get(url).status_code == 302
    for persona in ("viewer", "ims-admin", "developer", "newcomer"):
        assert as_user(persona).get(url).status_code == 403, persona


@pytest.mark.parametrize("persona", ["admin", "iam-admin"])
@pytest.mark.parametrize(("action", "project"), [
    ("ims:images:delete", "cn-north-4_dev"), ("ims:images:list", "eu-west-101"), ("ims:images:create", "cn-north-4"),
    ("iam:users:createUser", ""),
])
def test_who_can_lists_what_the_engine_decides(as_user, persona, action, project):
    page = as_user(persona).get(WHO_CAN, {"action": action, "project": project})
    assert page.status_code == 200
    text = page.content.decode()
    allowed, denied = listed(text, "who-can-allowed"), listed(text, "who-can-denied")
    for user in User.objects.all():
        outcome = authz.decide(user, action, project=project or None).outcome
        assert (user.username in allowed) == (outcome == "allow"), user.username
        assert (user.username in denied) == (outcome == "explicit_deny"), user.username


def test_who_can_says_why(as_user):
    text = as_user("iam-admin").get(WHO_CAN, {"action": "ims:images:delete", "project": "cn-north-4_dev"}).content
    text = text.decode()
    denied = text.split('data-testid="who-can-denied"', 1)[1]
    assert 'data-user="developer"' in denied
    assert "Deny in DenyImageDeletion Statement 1, granted to group developers on cn-north-4_dev" in denied
    assert "member of the admin group (allowed everything)" in text


@pytest.mark.parametrize("query", [
    {"action": "ims:images:nothing", "project": "cn-north-4"},
    {"action": "ims:images:list", "project": "nowhere-1"},
    {"action": "ims:images:list"},
    {"action": "x" * 5000},
])
def test_who_can_bad_input_is_a_clear_422(as_user, query):
    page = as_user("admin").get(WHO_CAN, query)
    assert page.status_code == 422
    assert 'class="errorlist' in page.content.decode() or "has-error" in page.content.decode()


def test_who_can_queries_do_not_grow_with_users(as_user):
    browser = as_user("iam-admin")
    url = WHO_CAN + "?action=ims:images:get&project=cn-north-4"
    browser.get(url)
    with CaptureQueriesContext(connection) as few:
        assert browser.get(url).status_code == 200
    viewers = UserGroup.objects.get(name="viewers")
    User.objects.bulk_create(User(username=f"crowd-{n:03d}") for n in range(120))
    Membership.objects.bulk_create(Membership(user=u, group=viewers)
                                   for u in User.objects.filter(username__startswith="crowd-"))
    authz.bump_stamp()  # bulk inserts send no signal: whoever makes them bumps the stamp
    browser.get(url)
    with CaptureQueriesContext(connection) as many:
        page = browser.get(url)
    assert len(few) == len(many) <= 16
    text = page.content.decode()
    assert len(listed(text, "who-can-allowed")) == 100  # a page of users
    assert "Users 1–100 of" in text
    second = browser.get(url + "&page=2").content.decode()
    assert {f"crowd-{n:03d}" for n in range(120)} <= listed(text, "who-can-allowed") | listed(second, "who-can-allowed")


# --- from the image's page ------------------------------------------------------------------------


def test_image_page_links_who_can_only_for_iam_readers(as_user):
    assert 'data-testid="who-can-link"' in as_user("admin").get(f"/images/{IMAGE}/").content.decode()
    assert 'data-testid="who-can-link"' not in as_user("ims-admin").get(f"/images/{IMAGE}/").content.decode()


def test_image_who_can_refusals_and_scope(client, as_user):
    url = f"/images/{IMAGE}/who-can/?project=cn-north-4&action=ims:images:delete"
    assert client.get(url).status_code == 302
    assert as_user("ims-admin").get(url).status_code == 403  # sees the image, may not list users
    assert as_user("iam-admin").get(url).status_code == 404  # IAM alone makes no project its own: outside its projects
    hidden = f"/images/{DEV_IMAGE}/who-can/?project=cn-north-4_dev&action=ims:images:get"
    assert as_user("north-ops").get(hidden).status_code == 404
    assert as_user("admin").get("/images/00000000-0000-0000-0000-000000000000/who-can/").status_code == 404


def test_image_who_can_answers_for_that_image(as_user):
    page = as_user("admin").get(f"/images/{DEV_IMAGE}/who-can/", {"project": "cn-north-4_dev",
                                                                  "action": "ims:images:delete"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "developer" in listed(text, "who-can-denied")
    assert {"admin", "ims-admin"} <= listed(text, "who-can-allowed")
    assert as_user("admin").get(f"/images/{DEV_IMAGE}/who-can/", {"project": "cn-north-4_dev",
                                                                  "action": "nope"}).status_code == 422


# --- what a group or a policy allows --------------------------------------------------------------


def test_grid_of_a_group_and_of_a_policy(client, as_user):
    developers = UserGroup.objects.get(name="developers")
    url = f"/iam/simulator/grants/?group={developers.pk}"
    assert client.get(url).status_code == 302
    assert as_user("viewer").get(url).status_code == 403
    text = as_user("iam-admin").get(url).content.decode()
    row = text.split('data-action="ims:images:delete"', 1)[1].split("</tr>", 1)[0]
    assert 'data-project="cn-north-4_dev" data-outcome="explicit_deny"' in row
    assert 'data-project="cn-north-4" data-outcome="implicit_deny"' in row
    deny = Policy.objects.get(name="DenyImageDeletion")
    text = as_user("iam-admin").get(f"/iam/simulator/grants/?policy={deny.pk}").content.decode()
    assert "where it is attached" in text
    lonely = services.policy_create(actor=None, name="Lonely", document={
        "Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]})
    text = as_user("iam-admin").get(f"/iam/simulator/grants/?policy={lonely.pk}").content.decode()
    assert "attached to no group" in text


@pytest.mark.parametrize("query", ["?group=999999", "?policy=abc", "?group=-1"])
def test_grid_bad_ids_are_404(as_user, query):
    assert as_user("admin").get("/iam/simulator/grants/" + query).status_code == 404


def test_grid_page_without_subject(as_user):
    assert as_user("admin").get("/iam/simulator/grants/").status_code == 200


# --- the dependency picture -----------------------------------------------------------------------


def test_role_page_draws_its_dependency_chain(as_user):
    server = Policy.objects.get(name="Server Administrator")
    text = as_user("iam-admin").get(f"/iam/policies/{server.pk}/").content.decode()
    picture = text.split('data-testid="dependency-picture"', 1)[1].split("</figure>", 1)[0]
    assert "<svg" in picture and 'role="img"' in picture and "<desc" in picture
    for name in ("Server Administrator", "IMS Administrator", "Tenant Administrator"):
        assert f'data-role="{name}"' in picture
    assert picture.count("<line ") == 2
    assert "Server Administrator needs IMS Administrator; IMS Administrator needs Tenant Administrator." in picture
    assert "style=" not in picture  # CSP: no inline style
    tenant = Policy.objects.get(name="Tenant Administrator")
    alone = as_user("iam-admin").get(f"/iam/policies/{tenant.pk}/").content.decode()
    assert 'data-testid="dependency-picture"' not in alone


def test_attach_review_draws_what_comes_along(as_user):
    group = UserGroup.objects.get(name="viewers")
    server = Policy.objects.get(name="Server Administrator")
    page = as_user("admin").post(f"/iam/groups/{group.pk}/permissions/attach/",
                                 {"step": "review", "policies": [server.pk], "scope": "all"}, follow=True)
    text = page.content.decode()
    assert page.status_code == 200, text[:500]
    picture = text.split('data-testid="dependency-picture"', 1)[1].split("</figure>", 1)[0]
    assert 'data-role="Tenant Administrator"' in picture and 'data-role="IMS Administrator"' in picture
