"""The Configuration page: anonymous / forbidden / allowed, the plan, the confirmation re-checked, query budgets."""

import json
import re
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import iac, services
from accounts.models import AuditEvent, UserGroup

from .conftest import find, text_of

PAGE, EXPORT, SCHEMA = "/iam/config/", "/iam/config/export.json", "/iam/config/schema.json"


def hidden(response, name):
    return unescape(re.search(rf'name="{name}" value="([^"]*)"', response.content.decode(), re.S).group(1))


def confirm_data(response):
    return {name: hidden(response, name) for name in ("document", "document_hash", "config_hash")} | {"confirm": "1"}


@pytest.mark.parametrize("url", [PAGE, EXPORT])
def test_anonymous_is_sent_to_sign_in(client, demo, url):
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("persona", ["viewer", "ims-admin", "developer", "newcomer"])
@pytest.mark.parametrize("url", [PAGE, EXPORT])
def test_people_who_cannot_read_all_of_iam_are_refused(as_user, demo, persona, url):
    response = as_user(persona).get(url)
    assert response.status_code == 403
    assert AuditEvent.objects.filter(actor__username=persona, outcome="denied", target_repr=url).exists()


def test_posting_a_plan_is_refused_too(as_user, exported):
    text, _ = exported
    assert as_user("viewer").post(PAGE, {"document": text}).status_code == 403


def test_the_schema_is_public_json(client, demo):
    response = client.get(SCHEMA)
    assert response.status_code == 200
    schema = response.json()
    assert schema["properties"]["format"]["const"] == "imsperm-iam/1"
    assert {"regions", "users", "groups", "policies", "grants"} <= set(schema["properties"])


@pytest.mark.parametrize("persona", ["admin", "iam-admin"])
def test_export_downloads_the_canonical_file(as_user, demo, persona):
    response = as_user(persona).get(EXPORT)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="imsperm-iam-')
    assert response.content.decode() == iac.export_text()


def test_the_page_offers_export_and_import(as_user, demo):
    response = as_user("iam-admin").get(PAGE)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="export"' in body and 'name="document"' in body and 'name="file"' in body
    assert 'href="/iam/config/"' in body  # the navigation entry is enabled


def test_the_navigation_entry_is_disabled_for_those_refused(as_user, demo):
    body = as_user("viewer").get("/images/").content.decode()
    assert re.search(r'aria-disabled="true" title="You need iam:projects:listProjects[^"]*">Configuration<', body)


def test_a_pasted_file_shows_its_plan_then_confirm_applies_it(as_user, exported):
    _, data = exported
    data["groups"][find(data["groups"], name="viewers")[0]]["description"] = "Read images"
    data["groups"][find(data["groups"], name="viewers")[0]]["members"].append("newcomer")
    browser = as_user("admin")  # iam-admin may not hand out the image permissions viewers hold

    planned = browser.post(PAGE, {"document": text_of(data)})

    body = planned.content.decode()
    assert planned.status_code == 200
    assert "0</strong> to create" not in body and "to change" in body
    assert "newcomer in viewers" in body and "$.groups[5].members[1]" in body
    assert 'data-user="newcomer"' in body  # whose effective permissions change
    assert UserGroup.objects.get(name="viewers").description != "Read images"

    applied = browser.post(PAGE, confirm_data(planned))

    assert applied.status_code == 200
    assert "Imported: 1 created, 1 changed, 0 removed" in applied.content.decode()
    assert UserGroup.objects.get(name="viewers").description == "Read images"
    import_id = hidden_import_id(applied)
    assert AuditEvent.objects.filter(details__import_id=import_id, action=iac.IMPORT_EVENT).count() == 1
    assert AuditEvent.objects.filter(details__import_id=import_id, action="iam:groups:addUserToGroup").count() == 1


def hidden_import_id(response):
    return re.search(r'data-testid="import-id">(\w+)<', response.content.decode()).group(1)


def test_an_uploaded_file_is_planned_like_a_pasted_one(as_user, exported):
    _, data = exported
    data["users"].append({"username": "carol"})
    upload = SimpleUploadedFile("iam.json", text_of(data).encode(), content_type="application/json")
    response = as_user("admin").post(PAGE, {"file": upload})
    assert response.status_code == 200 and "user carol" in response.content.decode()


def test_an_unchanged_file_plans_no_changes_and_offers_no_apply(as_user, exported):
    text, _ = exported
    response = as_user("iam-admin").post(PAGE, {"document": text})
    assert 'data-testid="plan-noop"' in response.content.decode()
    assert 'data-testid="apply"' not in response.content.decode()


def test_a_change_between_plan_and_confirm_plans_again(as_user, exported):
    _, data = exported
    data["groups"][find(data["groups"], name="viewers")[0]]["description"] = "Read images"
    browser = as_user("iam-admin")
    planned = browser.post(PAGE, {"document": text_of(data)})
    services.group_update(actor=None, group=UserGroup.objects.get(name="developers"), name="developers",
                          description="changed meanwhile")

    response = browser.post(PAGE, confirm_data(planned))

    assert response.status_code == 409
    assert "changed since you reviewed the plan" in response.content.decode()
    assert UserGroup.objects.get(name="viewers").description != "Read images"
    # The new plan shows what the file would now change (the meanwhile edit comes back), to confirm afresh.
    assert "group developers" in response.content.decode()


def test_a_tampered_document_is_planned_again(as_user, exported):
    _, data = exported
    data["groups"][find(data["groups"], name="viewers")[0]]["description"] = "Read images"
    browser = as_user("iam-admin")
    posted = confirm_data(browser.post(PAGE, {"document": text_of(data)}))
    posted["document"] = posted["document"].replace("Read images", "Something else")
    response = browser.post(PAGE, posted)
    assert response.status_code == 409 and UserGroup.objects.get(name="viewers").description != "Something else"


def test_an_escalating_file_shows_its_place_and_changes_nothing(as_user, exported):
    _, data = exported
    data["grants"].append({"group": "iam-admins", "policy": "IMS FullAccess", "scope": "all_resources"})
    response = as_user("iam-admin").post(PAGE, {"document": text_of(data)})
    assert response.status_code == 422
    body = response.content.decode()
    assert f'data-testid="error-path">$.grants[{len(data["grants"]) - 1}]<' in body
    assert "Nothing was changed" in body


@pytest.mark.parametrize("posted", [
    {},
    {"document": "   "},
    {"document": "{not json"},
    {"document": json.dumps({"format": "imsperm-iam/1", "users": [{"username": 5}]})},
    {"document": "[]"},
    {"confirm": "1"},
    {"confirm": "1", "document": "{}", "document_hash": "x", "config_hash": "y"},
])
def test_bad_input_is_a_clear_error_never_a_500(as_user, demo, posted):
    response = as_user("iam-admin").post(PAGE, posted)
    assert response.status_code in (400, 409, 422)
    assert "Nothing was changed" in response.content.decode() or "Paste a configuration" in response.content.decode()


BUDGET = 13  # the identity providers with their rules and groups: one query while there are none


def test_page_and_export_cost_the_same_queries_for_few_and_many_users(as_user, demo, django_assert_max_num_queries):
    browser = as_user("iam-admin")
    for url in (PAGE, EXPORT):
        browser.get(url)
    few = {}
    for url in (PAGE, EXPORT):
        with CaptureQueriesContext(connection) as captured:
            assert browser.get(url).status_code == 200
        few[url] = len(captured)
    group = services.group_create(actor=None, name="many")
    for number in range(30):
        user, _ = services.user_create(actor=None, username=f"many{number:02d}", password="x")
        services.group_add_member(actor=None, group=group, user=user)
    for url in (PAGE, EXPORT):
        browser.get(url)
        with CaptureQueriesContext(connection) as captured:
            browser.get(url)
        assert len(captured) == few[url], url
        with django_assert_max_num_queries(BUDGET):
            browser.get(url)
