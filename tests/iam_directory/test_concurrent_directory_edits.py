"""Two administrators edit the same user, group or project (issue 19, item 4): the second, stale form
must not erase the first one's changes. Every edit form carries the revision it was drawn at; a stale
save answers 409 beside the values saved meanwhile (console), or a form error (Django admin), and
saving again from that answer is a deliberate overwrite — as policies and images already do."""

import re

import pytest
from django.test import Client

from accounts import services
from accounts.models import Project, Region, User, UserGroup
from tests.admin.conftest import form_data

from .conftest import group, user


def browser(name) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=name))
    return client


@pytest.fixture
def second_admin(demo):
    """A second member of the admin group, so two administrators can edit at once."""
    other, _ = services.user_create(actor=None, username="admin2", password="Second-admin-1234", is_staff=True)
    services.group_add_member(actor=None, group=group("admin"), user=other)
    return other


def drawn_revision(page) -> str:
    match = re.search(r'name="revision" value="(\d+)"', page.content.decode())
    assert match, "the edit form carries no revision"
    return match.group(1)


def test_a_stale_user_form_answers_409_beside_the_values_saved_meanwhile(demo):
    viewer = user("viewer")
    url = f"/iam/users/{viewer.pk}/edit/"
    alice, bob = browser("admin"), browser("iam-admin")
    alice_revision, bob_revision = drawn_revision(alice.get(url)), drawn_revision(bob.get(url))

    first = alice.post(url, {"email": "alice-typed@example.com", "first_name": "Vera", "revision": alice_revision})
    assert first.status_code == 302
    stale = bob.post(url, {"email": "", "first_name": "", "last_name": "Viewer", "revision": bob_revision})

    assert stale.status_code == 409
    page = stale.content.decode()
    assert "changed by someone else" in page
    current = re.search(r'data-testid="current-values".*?</div>', page, re.S).group(0)
    assert "alice-typed@example.com" in current and "Vera" in current
    assert 'value="Viewer"' in page  # what Bob typed is kept
    saved = user("viewer")
    assert (saved.email, saved.first_name, saved.last_name) == ("alice-typed@example.com", "Vera", "")

    again = bob.post(url, {"email": "", "first_name": "", "last_name": "Viewer", "revision": drawn_revision(stale)})
    assert again.status_code == 302  # a deliberate overwrite of the revision Bob has now seen
    assert user("viewer").last_name == "Viewer"


def test_a_user_form_without_a_revision_counts_as_stale(demo):
    viewer = user("viewer")
    response = browser("admin").post(f"/iam/users/{viewer.pk}/edit/", {"email": "x@example.com"})
    assert response.status_code == 409
    assert user("viewer").email == ""


def test_a_stale_group_form_answers_409_beside_the_values_saved_meanwhile(demo):
    viewers = group("viewers")
    url = f"/iam/groups/{viewers.pk}/edit/"
    alice, bob = browser("admin"), browser("iam-admin")
    alice_revision, bob_revision = drawn_revision(alice.get(url)), drawn_revision(bob.get(url))

    assert alice.post(url, {"name": "viewers", "description": "Alice's words",
                            "revision": alice_revision}).status_code == 302
    stale = bob.post(url, {"name": "viewers", "description": "Bob's words", "revision": bob_revision})

    assert stale.status_code == 409
    page = stale.content.decode()
    assert "changed by someone else" in page
    assert "Alice&#x27;s words" in re.search(r'data-testid="current-values".*?</div>', page, re.S).group(0)
    assert "Bob&#x27;s words" in page
    assert group("viewers").description == "Alice's words"
    assert bob.post(url, {"name": "viewers", "description": "Bob's words",
                          "revision": drawn_revision(stale)}).status_code == 302
    assert group("viewers").description == "Bob's words"


def _admin_race(url, model_name, change_first, change_second):
    """Two administrators load the same Django admin change form; returns the second's answer."""
    alice, bob = browser("admin"), browser("admin2")
    alice_form, bob_form = form_data(alice.get(url), model_name), form_data(bob.get(url), model_name)
    first = alice.post(url, {**alice_form, **change_first})
    assert first.status_code == 302, first.content.decode()[:2000]
    return bob.post(url, {**bob_form, **change_second})


def test_django_admin_refuses_a_stale_user_form(second_admin):
    viewer = user("viewer")
    second = _admin_race(f"/admin/accounts/user/{viewer.pk}/change/", "user",
                         {"email": "alice-typed@example.com"}, {"first_name": "Bob"})
    assert second.status_code == 200
    assert "changed by someone else" in second.content.decode()
    saved = user("viewer")
    assert (saved.email, saved.first_name) == ("alice-typed@example.com", "")


def test_django_admin_refuses_a_stale_group_form(second_admin):
    viewers = group("viewers")
    second = _admin_race(f"/admin/accounts/usergroup/{viewers.pk}/change/", "usergroup",
                         {"description": "Alice's words"}, {"name": "viewers-renamed"})
    assert second.status_code == 200
    assert "changed by someone else" in second.content.decode()
    assert group("viewers").description == "Alice's words"
    assert not UserGroup.objects.filter(name="viewers-renamed").exists()


def test_django_admin_refuses_a_stale_project_form(second_admin):
    project = Project.objects.get(name="cn-north-4_dev")
    second = _admin_race(f"/admin/accounts/project/{project.pk}/change/", "project",
                         {"description": "Alice's words"}, {"description": "Bob's words"})
    assert second.status_code == 200
    assert "changed by someone else" in second.content.decode()
    assert Project.objects.get(pk=project.pk).description == "Alice's words"


def test_django_admin_refuses_a_stale_region_form(second_admin):
    region = Region.objects.get(code="cn-north-4")
    second = _admin_race(f"/admin/accounts/region/{region.pk}/change/", "region",
                         {"name": "Alice's North"}, {"name": "Bob's North"})
    assert second.status_code == 200
    assert "changed by someone else" in second.content.decode()
    assert Region.objects.get(pk=region.pk).name == "Alice's North"
