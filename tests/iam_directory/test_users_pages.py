"""Users as an administrator sees them: list and filters, create (password shown once), edit, deactivate,
delete, membership from the user's page, and controls hidden from those who may not use them."""

import html
import re

import pytest
from django.contrib.sessions.models import Session

from accounts import services
from accounts.models import AuditEvent, User, UserGroup

from .conftest import group, user

pytestmark = pytest.mark.usefixtures("demo")


def usernames_listed(response):
    return re.findall(r'data-username="([^"]+)"', response.content.decode())


def test_the_list_shows_every_user_with_groups_and_status(as_user):
    response = as_user("admin").get("/iam/users/")
    assert usernames_listed(response) == ["admin", "developer", "iam-admin", "ims-admin", "newcomer", "north-ops",
                                          "viewer"]
    assert 'href="/iam/users/new/"' in response.content.decode()


def test_the_list_filters_by_text_group_and_status(as_user):
    browser = as_user("iam-admin")
    assert usernames_listed(browser.get("/iam/users/?q=admin")) == ["admin", "iam-admin", "ims-admin"]
    assert usernames_listed(browser.get(f"/iam/users/?group={group('viewers').pk}")) == ["viewer"]
    services.user_update(actor=None, user=user("newcomer"), is_active=False)
    assert usernames_listed(browser.get("/iam/users/?active=no")) == ["newcomer"]
    assert "newcomer" not in usernames_listed(browser.get("/iam/users/?active=yes"))


def test_an_htmx_search_returns_only_the_table(as_user):
    response = as_user("admin").get("/iam/users/?q=view", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="user-results")
    body = response.content.decode()
    assert usernames_listed(response) == ["viewer"]
    assert "<html" not in body and 'data-testid="user-table"' in body


def test_the_list_paginates(as_user):
    for number in range(30):
        services.user_create(actor=None, username=f"bulk{number:02d}", password="imsperm-demo")
    browser = as_user("admin")
    first = browser.get("/iam/users/")
    next_link = re.search(r'href="([^"]+)" rel="next"', first.content.decode()).group(1)
    second = browser.get("/iam/users/" + html.unescape(next_link))
    assert len(usernames_listed(first)) == 25 and len(usernames_listed(second)) == 12
    assert set(usernames_listed(first)).isdisjoint(usernames_listed(second))
    assert "Page 1 of 2" in first.content.decode() and "Page 2 of 2 · 26–37 of 37" in second.content.decode()
    back = re.search(r'href="([^"]+)" rel="prev"', second.content.decode()).group(1)
    assert usernames_listed(browser.get("/iam/users/" + html.unescape(back))) == usernames_listed(first)


def test_creating_a_user_with_a_generated_password_shows_it_once(as_user):
    browser = as_user("iam-admin")
    response = browser.post("/iam/users/new/", {"username": "carol", "email": "carol@example.com",
                                                "password_mode": "generate", "is_active": "on"})
    carol = User.objects.get(username="carol")
    assert response.status_code == 302 and response.url == f"/iam/users/{carol.pk}/"
    sessions = " ".join(str(s.get_decoded()) for s in Session.objects.all())
    page = browser.get(response.url).content.decode()
    shown = re.search(r"Password of carol: (\S+) — copy it now", page)
    assert shown, page
    password = shown.group(1)
    assert carol.check_password(password)
    assert password not in sessions
    assert password not in str(list(AuditEvent.objects.values_list("details", "message")))
    assert "Password of carol" not in browser.get(response.url).content.decode()


def test_creating_a_user_with_a_chosen_password(as_user):
    browser = as_user("admin")
    response = browser.post("/iam/users/new/", {"username": "dave", "password_mode": "set",
                                                "password1": "Tr1cky-passphrase", "password2": "Tr1cky-passphrase"})
    assert response.status_code == 302
    assert User.objects.get(username="dave").check_password("Tr1cky-passphrase")
    assert "Password of dave" not in browser.get(response.url).content.decode()


@pytest.mark.parametrize(("data", "error"), [
    ({"username": "viewer", "password_mode": "generate"}, "A user with that username already exists."),
    ({"username": "bad name!", "password_mode": "generate"}, "Enter a valid username"),
    ({"username": "erin", "password_mode": "set", "password1": "Long-enough-1", "password2": "different"},
     "The two passwords differ."),
    ({"username": "erin", "password_mode": "set", "password1": "123", "password2": "123"}, "too short"),
])
def test_bad_input_is_shown_on_the_form(as_user, data, error):
    response = as_user("admin").post("/iam/users/new/", data)
    assert response.status_code == 422
    assert error in response.content.decode()
    assert not User.objects.filter(username="erin").exists()


def test_editing_a_user_is_audited_with_before_and_after(as_user):
    viewer = user("viewer")
    response = as_user("iam-admin").post(f"/iam/users/{viewer.pk}/edit/",
                                         {"email": "viewer@example.com", "first_name": "Vi",
                                          "revision": viewer.revision})
    assert response.status_code == 302
    event = AuditEvent.objects.filter(action="iam:users:updateUser").first()
    assert event.actor_name == "iam-admin" and event.target_repr == "viewer"
    assert event.details == {"before": {"email": "", "first_name": ""},
                             "after": {"email": "viewer@example.com", "first_name": "Vi"}}


def test_deactivating_and_activating_a_user(as_user):
    browser = as_user("admin")
    viewer = user("viewer")
    browser.post(f"/iam/users/{viewer.pk}/active/", {"active": "0"})
    assert not user("viewer").is_active
    page = browser.get(f"/iam/users/{viewer.pk}/").content.decode()
    assert "User viewer deactivated." in page and "Activate</button>" in page
    browser.post(f"/iam/users/{viewer.pk}/active/", {"active": "1"})
    assert user("viewer").is_active


def test_the_last_active_admin_cannot_be_deactivated_deleted_or_removed(as_user):
    browser = as_user("admin")
    admin = user("admin")
    page = browser.post(f"/iam/users/{admin.pk}/active/", {"active": "0"}, follow=True).content.decode()
    assert "last active member of the admin group" in page
    page = browser.post(f"/iam/users/{admin.pk}/delete/", follow=True).content.decode()
    assert "last active member of the admin group" in page or "cannot delete your own user" in page
    page = browser.post(f"/iam/users/{admin.pk}/groups/{group('admin').pk}/remove/", follow=True).content.decode()
    assert "last active member of the admin group" in page
    assert user("admin").is_active and group("admin").memberships.filter(user=admin).exists()


def test_deleting_a_user_asks_first(as_user):
    browser = as_user("admin")
    newcomer = user("newcomer")
    confirm = browser.get(f"/iam/users/{newcomer.pk}/delete/").content.decode()
    assert "Delete user newcomer?" in confirm and "deactivate it instead" in confirm
    assert User.objects.filter(username="newcomer").exists()
    response = browser.post(f"/iam/users/{newcomer.pk}/delete/")
    assert response.status_code == 302 and response.url == "/iam/users/"
    assert not User.objects.filter(username="newcomer").exists()


def test_group_membership_from_the_users_page(as_user):
    browser = as_user("admin")
    newcomer = user("newcomer")
    browser.post(f"/iam/users/{newcomer.pk}/groups/add/", {"group": group("viewers").pk})
    page = browser.get(f"/iam/users/{newcomer.pk}/").content.decode()
    assert "newcomer added to viewers." in page and 'data-group="viewers"' in page
    assert "IMS ReadOnlyAccess" in page  # the grants the user now inherits
    browser.post(f"/iam/users/{newcomer.pk}/groups/{group('viewers').pk}/remove/")
    assert not newcomer.memberships.exists()


def test_a_user_cannot_join_more_than_ten_groups(as_user):
    newcomer = user("newcomer")
    for number in range(10):
        services.group_add_member(actor=None, group=services.group_create(actor=None, name=f"g{number}"),
                                  user=newcomer)
    browser = as_user("admin")
    page = browser.get(f"/iam/users/{newcomer.pk}/").content.decode()
    assert "in 10 groups, the most allowed" in page and "Add to group" not in page
    page = browser.post(f"/iam/users/{newcomer.pk}/groups/add/", {"group": group("viewers").pk},
                        follow=True).content.decode()
    assert "already in 10 groups" in page
    assert newcomer.memberships.count() == 10


def test_controls_the_user_may_not_use_are_hidden_and_refused(reader, as_user):
    browser = as_user("reader")
    listing = browser.get("/iam/users/").content.decode()
    assert "Create user" not in listing
    viewer = user("viewer")
    page = browser.get(f"/iam/users/{viewer.pk}/").content.decode()
    for action in ("iam:users:updateUser", "iam:users:deleteUser", "iam:groups:addUserToGroup",
                   "iam:groups:removeUserFromGroup"):
        assert f'data-action="{action}"' not in page
    assert browser.post(f"/iam/users/{viewer.pk}/active/", {"active": "0"}).status_code == 403
    assert user("viewer").is_active


def test_refused_attempts_are_audited(as_user):
    viewer = user("viewer")
    assert as_user("ims-admin").post(f"/iam/users/{viewer.pk}/delete/").status_code == 403
    assert User.objects.filter(username="viewer").exists()
    event = AuditEvent.objects.filter(outcome="denied").first()
    assert (event.actor_name, event.action, event.target_repr) == (
        "ims-admin", "iam:users:deleteUser", f"/iam/users/{viewer.pk}/delete/")
    assert "implicit deny" in event.message and event.details == {"method": "POST"}


def test_a_refused_htmx_request_gets_a_message_fragment(as_user):
    response = as_user("viewer").get("/iam/users/", HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert response["HX-Retarget"] == "#messages"
    assert b'data-testid="refusal"' in response.content


# --- groups chosen in the create form ----------------------------------------------------------

def test_a_user_is_created_in_the_groups_chosen_in_the_same_form(as_user):
    from accounts.models import Membership

    html = as_user("iam-admin").get("/iam/users/new/").content.decode()
    assert 'data-testid="group-choices"' in html
    assert "Only members of the admin group" in html  # the admin group is offered, disabled, with the reason
    client = as_user("admin")
    viewers, developers = UserGroup.objects.get(name="viewers"), UserGroup.objects.get(name="developers")
    response = client.post("/iam/users/new/", {"username": "erin", "password_mode": "generate", "is_active": "on",
                                               "groups": [viewers.pk, developers.pk]}, follow=True)
    assert "User erin created in developers, viewers." in response.content.decode()
    assert set(Membership.objects.filter(user__username="erin").values_list("group__name", flat=True)) == {
        "viewers", "developers"}


def test_a_group_the_actor_may_not_fill_is_refused_and_no_user_is_created(as_user):
    admin_group = UserGroup.objects.get(name="admin")
    response = as_user("iam-admin").post("/iam/users/new/", {"username": "mallory", "password_mode": "generate",
                                                             "groups": [admin_group.pk]})
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    assert not User.objects.filter(username="mallory").exists()


def test_without_add_member_the_create_form_offers_no_groups(as_user, reader):
    html = as_user("reader").get("/iam/users/new/")
    assert html.status_code == 403 or 'data-testid="group-choices"' not in html.content.decode()
