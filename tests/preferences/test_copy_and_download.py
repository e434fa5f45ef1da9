"""Download JSON of a policy and of a policy revision: the permission that shows the policy decides
(anonymous → sign-in, refused → 403 audited, allowed → the document as an attachment); copy buttons
sit beside ids, the one-time token and the recovery codes."""

import json
import re

import pytest

from accounts import services
from accounts.management.commands.seed_demo import demo_id
from accounts.models import AuditEvent, Policy, User

pytestmark = pytest.mark.usefixtures("demo")
DOCUMENT = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:get"]}]}
CHANGED = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]}


@pytest.fixture
def policy():
    admin = User.objects.get(username="admin")
    created = services.policy_create(actor=admin, name="Read images", description="", document=DOCUMENT)
    services.policy_update(actor=admin, policy=created, name=created.name, description="", document=CHANGED,
                           expected_revision=created.revision)
    return Policy.objects.get(pk=created.pk)


def test_anonymous_is_sent_to_sign_in(client, policy):
    for url in (f"/iam/policies/{policy.pk}/download.json", f"/iam/policies/{policy.pk}/revisions/1/download.json"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("persona", ["viewer", "newcomer"])
def test_refused_like_the_policy_page_and_audited(as_user, policy, persona):
    browser = as_user(persona)
    assert browser.get(f"/iam/policies/{policy.pk}/").status_code == 403
    assert browser.get(f"/iam/policies/{policy.pk}/download.json").status_code == 403
    assert browser.get(f"/iam/policies/{policy.pk}/revisions/1/download.json").status_code == 403
    assert AuditEvent.objects.filter(actor__username=persona, action="iam:roles:getRole", outcome="denied").exists()


@pytest.mark.parametrize("persona", ["admin", "iam-admin"])
def test_the_document_and_a_revision_as_attachments(as_user, policy, persona, django_assert_max_num_queries):
    browser = as_user(persona)
    assert "Download JSON" in browser.get(f"/iam/policies/{policy.pk}/").content.decode()
    with django_assert_max_num_queries(8):
        current = browser.get(f"/iam/policies/{policy.pk}/download.json")
    assert current.status_code == 200 and current["Content-Type"].startswith("application/json")
    assert current["Content-Disposition"] == 'attachment; filename="Read-images.json"'
    assert json.loads(current.content) == CHANGED
    first = browser.get(f"/iam/policies/{policy.pk}/revisions/1/download.json")
    assert first["Content-Disposition"] == 'attachment; filename="Read-images-revision-1.json"'
    assert json.loads(first.content) == DOCUMENT
    assert browser.get(f"/iam/policies/{policy.pk}/revisions/9/download.json").status_code == 404
    assert browser.get("/iam/policies/999999/download.json").status_code == 404
    history = browser.get(f"/iam/policies/{policy.pk}/history/").content.decode()
    assert f"/iam/policies/{policy.pk}/revisions/1/download.json" in history


def test_a_system_policy_downloads_too(as_user):
    system = Policy.objects.get(name="IMS ReadOnlyAccess")
    response = as_user("iam-admin").get(f"/iam/policies/{system.pk}/download.json")
    assert json.loads(response.content) == system.document


def test_copy_buttons_beside_ids_the_token_and_recovery_codes(as_user):
    browser = as_user("ims-admin")
    image = demo_id("cn-north-4-ubuntu-system-00")
    page = browser.get(f"/images/{image}/").content.decode()
    assert f'data-copy="{image}"' in page
    created = browser.post("/me/api-tokens/create/", {"name": "ci"}, follow=True).content.decode()
    secret = re.search(r'<code data-testid="secret">([^<]+)</code>', created).group(1)
    assert f'data-copy="{secret}"' in created
