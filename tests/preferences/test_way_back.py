"""The way back: the console remembers each person's last project and opens it next time; a person
refused the image list in a project is offered the projects where they may list, or told they have
none and whom to ask (named only for who-can's permissions); the Shared tab counts what awaits
acceptance and lists the shares the project rejected with Accept again."""

import re

import pytest

from accounts.management.commands.seed_demo import demo_id
from accounts.models import AuditEvent, Project, User
from images.models import ImageMember
from preferences.models import UserPreference

pytestmark = pytest.mark.usefixtures("demo")
DEV, NORTH = "cn-north-4_dev", "cn-north-4"


def sign_in(client, username):
    client.post("/accounts/login/", {"username": username, "password": "imsperm-demo"})
    return client


def test_the_last_project_opened_is_opened_next_time(client):
    sign_in(client, "viewer")
    assert client.get("/images/?project=ap-southeast-1").status_code == 200
    preference = UserPreference.objects.get(user__username="viewer")
    assert preference.last_project.name == "ap-southeast-1"
    assert AuditEvent.objects.filter(action="preferences:update", actor=preference.user,
                                     details__after__last_project="ap-southeast-1").exists()
    client.post("/accounts/logout/")
    sign_in(client, "viewer")
    page = client.get("/images/").content.decode()
    assert re.search(r'data-testid="current-project">ap-southeast-1<', page)


def test_a_project_opened_again_writes_nothing(as_user):
    browser = as_user("viewer")
    browser.get(f"/images/?project={NORTH}")
    before = AuditEvent.objects.filter(action="preferences:update").count()
    browser.get(f"/images/?project={NORTH}&tab=public")
    assert AuditEvent.objects.filter(action="preferences:update").count() == before


def test_a_refused_person_is_offered_the_projects_where_they_may_list(as_user, django_assert_max_num_queries):
    browser = as_user("developer")
    browser.get(f"/images/?project={NORTH}")
    with django_assert_max_num_queries(10):
        response = browser.get(f"/images/?project={NORTH}")
    assert response.status_code == 403
    page = response.content.decode()
    offered = re.findall(r'data-project="([^"]+)"', page)
    assert offered == [DEV]
    assert UserPreference.objects.get(user__username="developer").last_project is None  # a refusal is not "opened"


def test_someone_who_may_list_nowhere_is_told_so_and_whom_to_ask_without_names(as_user):
    page = as_user("newcomer").get(f"/images/?project={NORTH}").content.decode()
    assert 'data-testid="no-listable-project"' in page and "You may not list images in any project." in page
    assert "a member of the admin group or a user with the Security Administrator role" in page
    assert "<strong>admin</strong>" not in page and "data-project=" not in page


def test_names_of_who_may_grant_only_for_who_can_permissions(as_user, django_assert_max_num_queries):
    browser = as_user("iam-admin")
    browser.get(f"/images/?project={NORTH}")
    with django_assert_max_num_queries(16):
        page = browser.get(f"/images/?project={NORTH}").content.decode()
    told = page[page.index('data-testid="no-listable-project"'):]
    told = told[:told.index("</p>")]
    assert "<strong>admin</strong>" in told and "<strong>iam-admin</strong>" in told
    assert "<strong>viewer</strong>" not in told


def test_the_shared_tab_counts_what_awaits_and_lists_rejected_shares_with_accept_again(as_user):
    browser = as_user("ims-admin")
    rejected = demo_id("cn-north-4-dev-debian-data-01")
    ImageMember.objects.filter(image_id=rejected, project__name=NORTH).update(status="rejected")
    page = browser.get(f"/images/?project={NORTH}&tab=shared").content.decode()
    assert re.search(r'data-testid="awaiting-count">1<', page)
    assert re.search(r'data-testid="awaiting-acceptance-count">1<', page)
    rows = page[page.index('data-testid="rejected-shares"'):]
    assert f'data-image-id="{rejected}"' in rows and "Accept again" in rows
    answer = browser.post(f"/images/{rejected}/accept/?project={NORTH}",
                          {"next": f"/images/?project={NORTH}&tab=shared"})
    assert answer.status_code == 302 and answer["Location"] == f"/images/?project={NORTH}&tab=shared"
    assert ImageMember.objects.get(image_id=rejected, project__name=NORTH).status == "accepted"
    assert 'data-testid="rejected-shares"' not in browser.get(f"/images/?project={NORTH}&tab=shared").content.decode()


def test_accept_again_is_refused_to_who_may_not_share(as_user):
    rejected = demo_id("cn-north-4-dev-debian-data-01")
    ImageMember.objects.filter(image_id=rejected, project__name=NORTH).update(status="rejected")
    browser = as_user("viewer")
    page = browser.get(f"/images/?project={NORTH}&tab=shared").content.decode()
    assert 'aria-disabled="true"' in page[page.index('data-testid="rejected-shares"'):]
    assert browser.post(f"/images/{rejected}/accept/?project={NORTH}").status_code == 403
    assert ImageMember.objects.get(image_id=rejected, project__name=NORTH).status == "rejected"


def test_reject_stays_for_pending_shares_only(as_user):
    accepted = demo_id("cn-north-4-dev-debian-data-01")
    response = as_user("ims-admin").post(f"/images/{accepted}/reject/?project={NORTH}")
    assert response.status_code == 409
    assert Project.objects.filter(name=NORTH).exists() and User.objects.filter(username="ims-admin").exists()


def test_shared_tab_query_budget_stays_constant(as_user, django_assert_max_num_queries):
    browser = as_user("ims-admin")
    url = f"/images/?project={NORTH}&tab=shared"
    browser.get(url)
    with django_assert_max_num_queries(12):
        assert browser.get(url).status_code == 200
