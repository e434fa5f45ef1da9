"""Names that differ only in letter case are one name; audit labels always fit their columns.

SQLite does not enforce a column's length, so the label tests check every written event against
its model's max_length, as PostgreSQL would.
"""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts import services
from accounts.models import AuditEvent, Policy, Project, Region, User, UserGroup

pytestmark = pytest.mark.usefixtures("demo")

DOCUMENT = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]}


def assert_events_fit_their_columns():
    labels = [f for f in AuditEvent._meta.get_fields() if f.get_internal_type() == "CharField"]
    for event in AuditEvent.objects.all():
        for field in labels:
            value = getattr(event, field.name)
            assert len(value) <= field.max_length, (field.name, len(value))


# --- names in any letter case ---------------------------------------------------------------


@pytest.mark.parametrize(("create", "message"), [
    (lambda: services.user_create(actor=None, username="Admin"), "This username is taken"),
    (lambda: services.group_create(actor=None, name="ADMIN"), "This group name is taken"),
    (lambda: services.policy_create(actor=None, name="denyimagedeletion", document=DOCUMENT),
     "This policy name is taken"),
    (lambda: Project(name="cn-north-4_DEV", region=Region.objects.get(code="cn-north-4")).full_clean(),
     "This project name is taken"),
])
def test_services_refuse_a_name_that_differs_only_in_case(create, message):
    counts = (User.objects.count(), UserGroup.objects.count(), Policy.objects.count())
    with pytest.raises(ValidationError, match=message):
        create()
    assert (User.objects.count(), UserGroup.objects.count(), Policy.objects.count()) == counts


def test_renaming_into_another_name_in_other_case_is_refused():
    group = UserGroup.objects.get(name="viewers")
    with pytest.raises(ValidationError, match="differ only in letter case"):
        services.group_update(actor=None, group=group, name="IMS-Admins", description="")
    assert UserGroup.objects.get(pk=group.pk).name == "viewers"


def test_the_database_refuses_it_too():
    with pytest.raises(IntegrityError), transaction.atomic():
        UserGroup.objects.create(name="Viewers")


@pytest.mark.parametrize(("url", "data", "message"), [
    ("/iam/users/new/", {"username": "Admin", "password_mode": "generate"}, "This username is taken"),
    ("/iam/groups/new/", {"name": "ADMIN"}, "This group name is taken"),
    ("/iam/policies/new/", {"name": "ims fullaccess", "mode": "json",
                            "document": '{"Version": "1.1", "Statement": [{"Effect": "Allow", '
                                        '"Action": ["ims:images:list"]}]}'}, "This policy name is taken"),
])
def test_console_forms_show_the_refusal_on_the_form(as_user, url, data, message):
    counts = (User.objects.count(), UserGroup.objects.count(), Policy.objects.count())
    response = as_user("admin").post(url, data)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert (User.objects.count(), UserGroup.objects.count(), Policy.objects.count()) == counts


@pytest.mark.parametrize(("url", "data", "message"), [
    ("/admin/accounts/user/add/", {"username": "ADMIN", "password1": "x-Very-long-pass-1",
                                   "password2": "x-Very-long-pass-1", "usable_password": "true"},
     "already exists"),
    ("/admin/accounts/usergroup/add/", {"name": "Admin", "description": ""}, "This group name is taken"),
    ("/admin/accounts/project/add/", {"name": "cn-north-4_Dev", "region": "", "description": ""},
     "This project name is taken"),
])
def test_django_admin_refuses_it_with_a_form_error(as_user, url, data, message):
    if "project" in url:
        data = {**data, "region": Region.objects.get(code="cn-north-4").pk}
    counts = (User.objects.count(), UserGroup.objects.count(), Project.objects.count())
    response = as_user("admin").post(url, data)
    assert response.status_code == 200  # the form again, with its errors
    assert message in response.content.decode()
    assert (User.objects.count(), UserGroup.objects.count(), Project.objects.count()) == counts


# --- audit labels ------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [300, 2000])
def test_a_refused_page_with_a_long_path_is_audited_with_the_path_cut_to_its_column(as_user, length):
    path = "/iam/users/" + "0" * (length - 13) + "1/"
    assert len(path) == length
    response = as_user("viewer").get(path)
    assert response.status_code == 403
    event = AuditEvent.objects.filter(action="iam:users:getUser", outcome="denied").first()
    assert event.target_repr == (path if length <= 300 else path[:299] + "…")
    assert_events_fit_their_columns()


def test_a_128_character_policy_attached_to_a_128_character_group_keeps_the_whole_label(as_user):
    policy = services.policy_create(actor=None, name="p" * 128, document=DOCUMENT)
    group = services.group_create(actor=None, name="g" * 128)
    response = as_user("admin").post(f"/iam/groups/{group.pk}/permissions/attach/",
                                     {"policies": policy.pk, "scope": "all", "step": "confirm"})
    assert response.status_code == 302
    event = AuditEvent.objects.filter(action="iam:permissions:grantPermission").first()
    assert event.target_repr == f"{policy.name} → {group.name}"
    assert_events_fit_their_columns()


def test_an_overlong_refusal_message_is_cut_not_refused():
    from accounts import audit

    event = audit.record(actor=None, action="x" * 100, target_repr="r" * 1000, message="m" * 2000,
                         project="p" * 100)
    event.refresh_from_db()
    assert (len(event.action), len(event.target_repr), len(event.message), len(event.project)) == (64, 300, 512, 64)
    assert_events_fit_their_columns()
