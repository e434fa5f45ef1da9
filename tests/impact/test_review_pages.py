"""Each confirmation shows who gains and who loses before the change: the review pages and fragments,
their permissions (anonymous, forbidden, allowed), the final POST still deciding on the server, and a
query count that does not grow with the members."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import authz, services
from accounts.models import Grant, Membership, Project, User
from images.models import Image
from tests.demo_rows import group, policy, user

pytestmark = pytest.mark.usefixtures("demo")


def reviews():
    """Every review: (name, GET url) — what the page shows before the POST of the same change."""
    developers, viewers, viewer = group("developers"), group("viewers"), user("viewer")
    return {
        "detach": f"/iam/groups/{developers.pk}/permissions/detach/?policies={policy('DenyImageDeletion').pk}",
        "group-delete": f"/iam/groups/{developers.pk}/delete/",
        "member-add": f"/iam/groups/{developers.pk}/members/add/?user={viewer.pk}",
        "member-remove": f"/iam/groups/{viewers.pk}/members/{viewer.pk}/remove/",
        "user-group-add": f"/iam/users/{viewer.pk}/groups/add/?group={developers.pk}",
        "user-group-remove": f"/iam/users/{viewer.pk}/groups/{viewers.pk}/remove/",
        "deactivate": f"/iam/users/{viewer.pk}/active/?active=0",
    }


EXPECTED = {  # what a reader notices on each review
    "detach": ("Members of developers (1 user)", "ims:images:delete", "cn-north-4_dev"),
    "group-delete": ("Members of developers (1 user)", "ims:images:create", "cn-north-4_dev"),
    "member-add": ("viewer", "ims:images:delete", "cn-north-4_dev"),
    "member-remove": ("viewer", "ims:images:list", "every project"),
    "user-group-add": ("viewer", "ims:images:delete", "cn-north-4_dev"),
    "user-group-remove": ("viewer", "ims:images:list", "every project"),
    "deactivate": ("viewer", "ims:images:get", "every project"),
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_review_names_who_gains_and_loses_what_where(name, as_user):
    response = as_user("admin").get(reviews()[name])
    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-testid="change-impact"' in text and "{#" not in text
    for part in EXPECTED[name]:
        assert part in text, (name, part)


@pytest.mark.parametrize("name", ["member-add", "member-remove", "user-group-remove", "deactivate"])
def test_the_dialog_gets_the_impact_alone_over_htmx(name, as_user):
    response = as_user("admin").get(reviews()[name], headers={"HX-Request": "true"})
    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-testid="change-impact"' in text and "<html" not in text
    assert EXPECTED[name][1] in text


@pytest.mark.parametrize("name", list(EXPECTED))
def test_reviews_are_for_those_allowed_the_change(name, client, as_user):
    url = reviews()[name]
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and anonymous.url.startswith("/accounts/login/")
    assert as_user("viewer").get(url).status_code == 403
    allowed = as_user("admin").get(url)
    assert allowed.status_code == 200 and b'data-testid="change-impact"' in allowed.content


def test_a_review_changes_nothing_and_the_post_still_makes_the_change(as_user):
    browser = as_user("admin")
    viewers, viewer = group("viewers"), user("viewer")
    assert browser.get(reviews()["member-remove"]).status_code == 200
    assert Membership.objects.filter(group=viewers, user=viewer).exists()
    assert browser.get(reviews()["deactivate"]).status_code == 200
    assert user("viewer").is_active
    response = browser.post(f"/iam/groups/{viewers.pk}/members/{viewer.pk}/remove/")
    assert response.status_code == 302
    assert not Membership.objects.filter(group=viewers, user=viewer).exists()


def test_a_review_shows_the_refusal_the_post_would_meet(as_user):
    """iam-admin may not hand over IMS permissions it does not hold: the review says so and offers no button."""
    developers, newcomer = group("developers"), user("newcomer")
    response = as_user("iam-admin").get(f"/iam/groups/{developers.pk}/members/add/?user={newcomer.pk}")
    assert response.status_code == 200
    assert b'data-testid="change-refused"' in response.content
    assert b"disabled" in response.content


def test_a_review_without_its_choice_is_not_found(as_user):
    assert as_user("admin").get(f"/iam/groups/{group('developers').pk}/members/add/?user=x").status_code == 404
    assert as_user("admin").get(f"/iam/users/{user('viewer').pk}/groups/add/").status_code == 404


def test_attach_review_shows_the_members_gains_and_the_end(as_user):
    viewers = group("viewers")
    response = as_user("admin").post(f"/iam/groups/{viewers.pk}/permissions/attach/", {
        "policies": policy("IMS FullAccess").pk, "scope": "projects",
        "projects": Project.objects.get(name="cn-north-4_dev").pk, "duration": "8h"})
    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-testid="attach-impact"' in text
    assert "Members of viewers (1 user)" in text and "ims:images:delete" in text and "cn-north-4_dev" in text
    assert "until" in text.split('data-testid="attach-impact"')[1]
    assert not Grant.objects.filter(group=viewers, policy__name="IMS FullAccess").exists()


def test_policy_edit_previews_the_typed_document(as_user):
    deny = policy("DenyImageDeletion")
    url = f"/iam/policies/{deny.pk}/edit/"
    document = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:*"]}]}
    data = {"preview": "1", "mode": "json", "document": json.dumps(document), "name": deny.name,
            "revision": deny.revision}
    response = as_user("admin").post(url, data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    text = response.content.decode()
    assert "Members of developers (1 user)" in text and "ims:images:delete" in text
    deny.refresh_from_db()
    assert deny.document["Statement"][0]["Effect"] == "Deny"  # a preview saves nothing
    broken = as_user("admin").post(url, {**data, "document": "{"}, headers={"HX-Request": "true"})
    assert broken.status_code == 200 and b"Shown once the document is valid" in broken.content
    assert as_user("viewer").post(url, data).status_code == 403


def test_bulk_delete_review_names_the_images_and_who_accepted_them(as_user):
    shared = Image.objects.get(name="cn-north-4-ubuntu-system-00")
    other = Image.objects.filter(project__name="cn-north-4", image_type="private").exclude(pk=shared.pk).first()
    url = f"/images/bulk/delete/?project=cn-north-4&ids={shared.pk}&ids={other.pk}"
    response = as_user("ims-admin").get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    text = response.content.decode()
    assert shared.name in text and other.name in text
    assert "accepted by cn-north-4_dev" in text and 'data-testid="bulk-accepted"' in text
    assert Image.objects.filter(pk=shared.pk).exists()
    assert as_user("viewer").get(url).status_code == 403


def _grow_developers(count):
    developers = group("developers")
    User.objects.bulk_create(User(username=f"grow-{n:03d}") for n in range(count))
    Membership.objects.bulk_create(Membership(user=u, group=developers)
                                   for u in User.objects.filter(username__startswith="grow-"))
    authz.bump_stamp()


def _queries(browser, url):
    browser.get(url)  # warm the per-process caches like a running console
    with CaptureQueriesContext(connection) as captured:
        response = browser.get(url)
    assert response.status_code == 200 and b'data-testid="change-impact"' in response.content
    return len(captured)


@pytest.mark.parametrize("name", ["detach", "group-delete", "member-add", "deactivate"])
def test_review_query_count_does_not_grow_with_members(name, as_user, django_assert_max_num_queries):
    browser = as_user("admin")
    few = _queries(browser, reviews()[name])
    _grow_developers(40)
    many = _queries(browser, reviews()[name])
    assert many == few
    with django_assert_max_num_queries(30):
        browser.get(reviews()[name])


def test_a_reader_who_may_not_ask_who_can_sees_counts_not_names(as_user):
    """A group that may detach but not list users: the detach review counts the users instead of naming them."""
    services.policy_create(actor=None, name="Detacher", document={"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["iam:permissions:revokePermission", "iam:groups:getGroup",
                                       "iam:permissions:listPermissions"]}]})
    detachers = services.group_create(actor=None, name="detachers")
    services.grant_attach(actor=None, group=detachers, policies=[policy("Detacher"), policy("IMS FullAccess")],
                          all_resources=True)
    services.group_add_member(actor=None, group=detachers, user=user("newcomer"))
    response = as_user("newcomer").get(reviews()["detach"])
    assert response.status_code == 200
    text = response.content.decode()
    shown = text.split('data-testid="change-impact"')[1].split("</section>")[0]
    assert "ims:images:delete" in shown and "1 user" in shown
    assert "developer" not in shown and "Members of" not in shown
