"""The Projects page: regions and their projects, creating a subproject (≤ 10 per region), governed
by iam:projects:listProjects and iam:projects:createProject."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services
from accounts.models import AuditEvent, Project, Region, User

pytestmark = pytest.mark.usefixtures("demo")

LIST, CREATE = "/iam/projects/", "/iam/projects/new/"


def region(code="cn-north-4"):
    return Region.objects.get(code=code)


def test_anonymous_users_are_sent_to_sign_in(client):
    assert client.get(LIST)["Location"].startswith("/accounts/login/")
    assert client.post(CREATE, {"region": region().pk, "suffix": "x"})["Location"].startswith("/accounts/login/")
    assert not Project.objects.filter(name="cn-north-4_x").exists()


@pytest.mark.parametrize("persona", ["viewer", "ims-admin", "newcomer"])
def test_people_without_iam_projects_are_refused_and_audited(as_user, persona):
    client = as_user(persona)
    response = client.get(LIST)
    assert response.status_code == 403
    assert "iam:projects:listProjects" in response.content.decode()
    assert client.post(CREATE, {"region": region().pk, "suffix": "x"}).status_code == 403
    assert not Project.objects.filter(name="cn-north-4_x").exists()
    assert AuditEvent.objects.filter(actor__username=persona, action="iam:projects:createProject",
                                     outcome="denied").exists()


def test_the_iam_admin_sees_every_region_with_its_projects_and_counts(as_user):
    html = as_user("iam-admin").get(LIST).content.decode()
    for code in ("cn-north-4", "ap-southeast-1", "eu-west-101"):
        assert f'data-region="{code}"' in html
    assert 'data-project="cn-north-4_dev"' in html
    assert "1 of 10 subprojects" in html and "0 of 10 subprojects" in html
    assert 'data-testid="create-subproject"' in html


def test_a_subproject_is_created_named_after_its_region_and_audited(as_user):
    client = as_user("iam-admin")
    response = client.post(CREATE, {"region": region().pk, "suffix": "test", "description": "QA"}, follow=True)
    assert response.redirect_chain[-1][0] == LIST
    assert "Project cn-north-4_test created in CN North-Beijing4." in response.content.decode()
    project = Project.objects.get(name="cn-north-4_test")
    assert project.region == region() and project.description == "QA"
    assert AuditEvent.objects.filter(action="iam:projects:createProject", outcome="allowed",
                                     target_repr="cn-north-4_test").exists()


@pytest.mark.parametrize(("suffix", "message"), [
    ("", "This field is required."),
    ("bad name!", "Use letters, digits and hyphens only."),
    ("dev", "The project cn-north-4_dev already exists."),
    ("DEV", "The project cn-north-4_dev already exists."),
])
def test_a_bad_name_is_shown_on_its_form_not_a_500(as_user, suffix, message):
    response = as_user("iam-admin").post(CREATE, {"region": region().pk, "suffix": suffix})
    assert response.status_code == 422
    assert message in response.content.decode()


@pytest.mark.parametrize("value", ["", "999999", "not-a-number"])
def test_a_region_that_does_not_exist_is_a_clear_error(as_user, value):
    response = as_user("iam-admin").post(CREATE, {"region": value, "suffix": "x"})
    assert response.status_code == 422
    assert "Choose one of the regions below" in response.content.decode()


def test_the_eleventh_subproject_is_refused_and_the_full_region_offers_no_form(as_user):
    eu = region("eu-west-101")
    for number in range(10):
        services.project_create(actor=None, region=eu, name=f"eu-west-101_p{number}")
    client = as_user("iam-admin")
    response = client.post(CREATE, {"region": eu.pk, "suffix": "eleven"})
    assert response.status_code == 422
    assert "already has 10 subprojects" in response.content.decode()
    assert not Project.objects.filter(name="eu-west-101_eleven").exists()
    html = client.get(LIST).content.decode()
    assert "10 of 10 subprojects" in html and 'data-testid="region-full"' in html


def test_a_reader_of_projects_sees_them_without_the_create_form(as_user):
    policy = services.policy_create(actor=None, name="ProjectReader", document={
        "Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["iam:projects:listProjects"]}]})
    group = services.group_create(actor=None, name="project-readers")
    services.group_add_member(actor=None, group=group, user=User.objects.get(username="viewer"))
    services.grant_attach(actor=None, group=group, policies=[policy], all_resources=True)
    client = as_user("viewer")
    html = client.get(LIST).content.decode()
    assert 'data-project="cn-north-4_dev"' in html and 'data-testid="create-subproject"' not in html
    assert client.post(CREATE, {"region": region().pk, "suffix": "x"}).status_code == 403


def test_the_page_costs_the_same_queries_for_one_project_as_for_many(as_user):
    client = as_user("iam-admin")
    client.get(LIST)

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST).status_code == 200
        return len(captured)

    few = count()
    for code in ("ap-southeast-1", "eu-west-101"):
        for number in range(5):
            services.project_create(actor=None, region=region(code), name=f"{code}_p{number}")
    client.get(LIST)
    assert count() == few <= 10
