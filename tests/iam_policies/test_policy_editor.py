"""The policy editor: findings on the right line as you type, broken policies never saved,
switching editors without loss, concurrent edits refused with nothing lost, CSRF, read-only
system policies, clone and delete."""

import json
import re
from html import unescape

import pytest
from django.test import Client

from accounts import services
from accounts.models import AuditEvent, Policy, User
from tests.deadline import deadline

HTMX = {"HX-Request": "true"}

# (name, text, expected line, expected column, expected path, words of the message)
BROKEN = [
    ("typo in an action",
     '{\n  "Version": "1.1",\n  "Statement": [\n    {\n      "Effect": "Allow",\n'
     '      "Action": ["ims:images:lst"]\n    }\n  ]\n}',
     6, 18, "Statement[0].Action[0]", 'did you mean "ims:images:list"'),
    ("effect in lower case",
     '{\n  "Version": "1.1",\n  "Statement": [\n    {\n      "Effect": "allow",\n'
     '      "Action": ["ims:images:list"]\n    }\n  ]\n}',
     5, 17, "Statement[0].Effect", "exact case"),
    ("a Resource key",
     '{\n  "Version": "1.1",\n  "Statement": [\n    {\n      "Effect": "Allow",\n'
     '      "Action": ["ims:images:list"],\n      "Resource": ["*"]\n    }\n  ]\n}',
     7, 7, "Statement[0].Resource", "Resource is not supported"),
    ("a missing comma",
     '{\n  "Version": "1.1"\n  "Statement": []\n}',
     3, 3, "", "Not valid JSON"),
    ("a misspelt condition key",
     '{\n  "Version": "1.1",\n  "Statement": [\n    {\n      "Effect": "Deny",\n'
     '      "Action": ["ims:images:delete"],\n      "Condition": {\n        "StringEquals": {\n'
     '          "ims:ImageTyp": ["gold"]\n        }\n      }\n    },\n'
     '    {"Effect": "Allow", "Action": ["ims:*:*"]}\n  ]\n}',
     9, 11, "Statement[0].Condition.StringEquals.ims:ImageTyp", 'did you mean "ims:ImageType"'),
    ("a role's version",
     '{\n  "Version": "1.0",\n  "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]\n}',
     2, 14, "Version", 'Version must be "1.1"'),
    ("IAM mixed with IMS",
     '{\n  "Version": "1.1",\n  "Statement": [\n    {"Effect": "Allow", "Action": ["ims:images:list"]},\n'
     '    {"Effect": "Allow", "Action": ["iam:users:listUsers"]}\n  ]\n}',
     5, 36, "Statement[1].Action[0]", "cannot mix global services"),
    ("a bad CIDR block",
     '{\n  "Version": "1.1",\n  "Statement": [\n    {\n      "Effect": "Allow",\n'
     '      "Action": ["ims:images:list"],\n      "Condition": {"IpAddress": {"g:SourceIp": ["10.0.0.0/33"]}}\n'
     "    }\n  ]\n}",
     7, 50, "Statement[0].Condition.IpAddress.g:SourceIp[0]", "not \"10.0.0.0/33\""),
]
VALID = '{\n  "Version": "1.1",\n  "Statement": [{"Effect": "Allow", "Action": ["ims:images:get"]}]\n}'


def _textarea(html: str) -> str:
    return unescape(re.search(r"<textarea[^>]*>\n?(.*?)</textarea>", html, re.S).group(1))


def _marked_lines(html: str) -> dict[int, str]:
    return {int(line): tier for tier, line in re.findall(r'class="gutter-line has-(\w+)" data-line="(\d+)"', html)}


@pytest.mark.parametrize(("name", "text", "line", "column", "path", "words"), BROKEN, ids=[b[0] for b in BROKEN])
def test_findings_show_on_their_line_as_you_type(as_user, demo, name, text, line, column, path, words):
    response = as_user("iam-admin").post("/iam/policies/validate/", {"mode": "json", "document": text}, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert _marked_lines(html) == {line: "error"}
    assert 'hx-swap-oob="true"' in html  # the gutter beside the textarea is replaced too
    finding = re.search(r'<li class="finding finding-error" data-tier="error" data-line="(\d+)" data-path="([^"]*)">'
                        r"(.*?)</li>", html, re.S)
    assert finding is not None
    assert int(finding.group(1)) == line
    assert finding.group(2) == path.replace('"', "&quot;")
    assert f">{line}:{column}</button>" in finding.group(3)
    assert words.replace('"', "&quot;") in finding.group(3)
    assert "1 error" in html
    assert html.count('class="gutter-line') == text.count("\n") + 1


def test_a_valid_policy_has_no_findings(as_user, demo):
    html = as_user("iam-admin").post("/iam/policies/validate/", {"mode": "json", "document": VALID},
                                     headers=HTMX).content.decode()
    assert "No findings: this policy can be saved." in html
    assert _marked_lines(html) == {}


def test_warnings_and_suggestions_are_listed_by_tier(as_user, demo):
    text = ('{\n  "Version": "1.1",\n  "Statement": [\n    {"Effect": "Allow", "Action": ["IMS:images:list"]},\n'
            '    {"Effect": "Allow", "Action": ["ims:images:get"], "Condition": {"StringEquals": '
            '{"g:UserName": ["a"]}}},\n    {"Effect": "Deny", "Action": ["ims:images:export"]}\n  ]\n}')
    html = as_user("iam-admin").post("/iam/policies/validate/", {"mode": "json", "document": text},
                                     headers=HTMX).content.decode()
    assert "1 warning</h3>" in html and "1 suggestion</h3>" in html
    assert _marked_lines(html) == {4: "suggestion", 6: "warning"}


@pytest.mark.parametrize(("name", "text", "line", "column", "path", "words"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_policy_is_never_created(as_user, demo, name, text, line, column, path, words):
    response = as_user("iam-admin").post("/iam/policies/new/", {"name": "Broken", "mode": "json", "document": text})
    html = response.content.decode()
    assert response.status_code == 422
    assert not Policy.objects.filter(name="Broken").exists()
    assert "Not saved: the policy has 1 error" in html
    assert _marked_lines(html) == {line: "error"}
    assert _textarea(html) == text  # the text is kept as typed


def test_a_broken_edit_is_never_saved(as_user, scratch_policy):
    before = (scratch_policy.document, scratch_policy.revision)
    response = as_user("iam-admin").post(f"/iam/policies/{scratch_policy.pk}/edit/", {
        "name": "Scratch", "mode": "json", "document": BROKEN[0][1], "revision": scratch_policy.revision})
    assert response.status_code == 422
    scratch_policy.refresh_from_db()
    assert (scratch_policy.document, scratch_policy.revision) == before


def test_create_from_the_visual_editor(as_user, demo):
    response = as_user("iam-admin").post("/iam/policies/new/", {
        "name": "Tag-scoped delete", "description": "Delete test images only", "mode": "visual",
        "visual-count": "1", "s0-effect": "Allow", "s0-service": "ims",
        "s0-actions": ["ims:images:get", "ims:images:delete"], "s0-conditions": "1",
        "s0-c0-operator": "StringEquals", "s0-c0-key": "ims:ResourceTag/env", "s0-c0-values": "test, dev"})
    policy = Policy.objects.get(name="Tag-scoped delete")
    assert response.status_code == 302 and response["Location"] == f"/iam/policies/{policy.pk}/"
    assert policy.document == {"Version": "1.1", "Statement": [{
        "Effect": "Allow", "Action": ["ims:images:get", "ims:images:delete"],
        "Condition": {"StringEquals": {"ims:ResourceTag/env": ["test", "dev"]}}}]}
    assert AuditEvent.objects.filter(action="iam:roles:createRole", target_id=str(policy.pk)).exists()


def test_switch_visual_to_json_and_back_loses_nothing(as_user, demo):
    client = as_user("iam-admin")
    visual = {"mode": "visual", "visual-count": "2", "s0-effect": "Allow", "s0-service": "ims",
              "s0-actions": ["ims:images:*", "ims:quotas:get"], "s0-conditions": "1",
              "s0-c0-operator": "NumberLessThanIfExists", "s0-c0-key": "g:MFAAge", "s0-c0-values": "300",
              "s1-effect": "Deny", "s1-service": "ims", "s1-actions": ["ims:images:delete"], "s1-conditions": "0"}
    html = client.post("/iam/policies/editor/", {**visual, "to": "json"}, headers=HTMX).content.decode()
    text = _textarea(html)
    assert json.loads(text) == {"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["ims:images:*", "ims:quotas:get"],
         "Condition": {"NumberLessThanIfExists": {"g:MFAAge": [300]}}},
        {"Effect": "Deny", "Action": ["ims:images:delete"]}]}
    back = client.post("/iam/policies/editor/", {"mode": "json", "document": text, "to": "visual"},
                       headers=HTMX).content.decode()
    assert 'name="mode" value="visual"' in back
    assert re.search(r'name="s0-actions" value="ims:images:\*" checked', back)
    assert re.search(r'name="s0-actions" value="ims:quotas:get" data-action="ims:quotas:get" checked', back)
    assert '<option value="NumberLessThanIfExists" selected>' in back
    assert 'name="s0-c0-values" value="300"' in back
    assert re.search(r'name="s1-effect" value="Deny" checked', back)


def test_json_that_the_visual_editor_cannot_show_stays_json_and_says_why(as_user, demo):
    text = '{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:*:get*"]}]}'
    html = as_user("iam-admin").post("/iam/policies/editor/", {"mode": "json", "document": text, "to": "visual"},
                                     headers=HTMX).content.decode()
    assert 'name="mode" value="json"' in html
    assert "stays in JSON" in html and "ims:*:get*" in html
    assert text.replace('"', "&quot;") in html


def test_invalid_json_stays_json_with_its_position(as_user, demo):
    html = as_user("iam-admin").post("/iam/policies/editor/", {"mode": "json", "document": '{"Version": ',
                                                               "to": "visual"}, headers=HTMX).content.decode()
    assert 'name="mode" value="json"' in html and "The JSON is not valid yet (line 1" in html


def test_visual_rows_are_added_and_removed_on_the_server(as_user, demo):
    client = as_user("iam-admin")
    base = {"mode": "visual", "visual-count": "1", "s0-effect": "Allow", "s0-service": "ims",
            "s0-actions": ["ims:images:list"], "s0-conditions": "0"}
    html = client.post("/iam/policies/editor/", {**base, "visual-op": "add-condition:0"}, headers=HTMX).content.decode()
    assert 'name="s0-c0-operator"' in html
    html = client.post("/iam/policies/editor/", {**base, "visual-op": "add-statement"}, headers=HTMX).content.decode()
    assert 'data-statement="1"' in html and re.search(r'value="ims:images:list" data-action="ims:images:list" checked',
                                                     html)


def test_edit_opens_a_policy_the_visual_editor_cannot_show_in_json(as_user, demo):
    policy = services.policy_create(actor=None, name="Readers", document={
        "Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:*:get*", "ims:*:list*"]}]})
    html = as_user("iam-admin").get(f"/iam/policies/{policy.pk}/edit/").content.decode()
    assert 'name="mode" value="json"' in html and "opens in JSON because" in html


# --- concurrency ---------------------------------------------------------------------------


def _client_for(username):
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def test_concurrent_edit_second_save_refused_nothing_lost(demo, scratch_policy):
    url = f"/iam/policies/{scratch_policy.pk}/edit/"
    alice, bob = _client_for("iam-admin"), _client_for("admin")
    for client in (alice, bob):
        assert 'name="revision" value="1"' in client.get(url).content.decode()
    alice_text = '{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:get"]}]}'
    bob_text = '{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:export"]}]}'
    first = alice.post(url, {"name": "Scratch", "mode": "json", "document": alice_text, "revision": "1"})
    assert first.status_code == 302
    second = bob.post(url, {"name": "Scratch v2", "mode": "json", "document": bob_text, "revision": "1"})
    html = second.content.decode()
    assert second.status_code == 409
    assert "was changed by someone else (now revision 2, you edited revision 1)" in html
    assert bob_text.replace('"', "&quot;") in html  # Bob's text is still in his editor
    their = re.search(r'data-testid="their-version">(.*?)</section>', html, re.S).group(1)
    assert "&quot;ims:images:get&quot;" in their  # and Alice's version is shown beside it
    assert 'name="name" value="Scratch v2"' in html
    scratch_policy.refresh_from_db()
    assert scratch_policy.revision == 2
    assert scratch_policy.document["Statement"][0]["Action"] == ["ims:images:get"]
    assert 'name="revision" value="2"' in html  # saving again, knowingly, replaces Alice's version
    third = bob.post(url, {"name": "Scratch v2", "mode": "json", "document": bob_text, "revision": "2"})
    assert third.status_code == 302
    scratch_policy.refresh_from_db()
    assert (scratch_policy.name, scratch_policy.revision) == ("Scratch v2", 3)
    updates = AuditEvent.objects.filter(action="iam:roles:updateRole", target_id=str(scratch_policy.pk))
    assert updates.count() == 2  # both saves are in the audit log: nothing lost


# --- CSRF, read-only system policies, clone, delete --------------------------------------


def test_csrf_is_enforced_on_policy_writes(demo, scratch_policy):
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.get(username="iam-admin"))
    data = {"name": "No token", "mode": "json", "document": VALID}
    assert client.post("/iam/policies/new/", data).status_code == 403
    assert client.post(f"/iam/policies/{scratch_policy.pk}/delete/").status_code == 403
    assert client.post("/iam/policies/validate/", {"mode": "json", "document": VALID}).status_code == 403
    assert not Policy.objects.filter(name="No token").exists()
    assert Policy.objects.filter(pk=scratch_policy.pk).exists()
    client.get("/iam/policies/new/")
    token = client.cookies["csrftoken"].value
    assert client.post("/iam/policies/new/", {**data, "csrfmiddlewaretoken": token}).status_code == 302


@pytest.mark.parametrize("name", ["IMS FullAccess", "Server Administrator"])
def test_system_policies_cannot_be_edited_or_deleted(as_user, policy_named, name):
    policy = policy_named(name)
    client = as_user("admin")
    for url in (f"/iam/policies/{policy.pk}/edit/", f"/iam/policies/{policy.pk}/delete/"):
        assert client.get(url).status_code == 409  # allowed to edit policies; this one is read-only
        response = client.post(url, {"name": "Hacked", "mode": "json", "document": VALID, "revision": "1"})
        assert response.status_code == 409
        assert "is system-defined" in response.content.decode()
        assert f'href="/iam/policies/{policy.pk}/"' in response.content.decode()
    policy.refresh_from_db()
    assert policy.name == name
    with pytest.raises(services.PolicyDocumentError.__mro__[1]):
        services.policy_update(actor=None, policy=policy, name="Hacked", description="", document=VALID,
                               expected_revision=policy.revision)


def test_delete_is_refused_while_attached_naming_the_groups(as_user, policy_named):
    policy = policy_named("DenyImageDeletion")
    client = as_user("iam-admin")
    confirm = client.get(f"/iam/policies/{policy.pk}/delete/").content.decode()
    assert "is attached to developers" in confirm and "<form" not in confirm.split('data-testid="delete-confirm"')[1]
    response = client.post(f"/iam/policies/{policy.pk}/delete/", follow=True)
    assert "DenyImageDeletion is attached to developers: detach it first." in response.content.decode()
    assert Policy.objects.filter(pk=policy.pk).exists()


def test_delete_an_unattached_custom_policy(as_user, scratch_policy):
    response = as_user("iam-admin").post(f"/iam/policies/{scratch_policy.pk}/delete/", follow=True)
    assert response.redirect_chain[-1][0] == "/iam/policies/"
    assert "Deleted Scratch." in response.content.decode()
    assert not Policy.objects.filter(pk=scratch_policy.pk).exists()


def test_viewer_cannot_delete(as_user, scratch_policy):
    assert as_user("viewer").post(f"/iam/policies/{scratch_policy.pk}/delete/").status_code == 403
    assert Policy.objects.filter(pk=scratch_policy.pk).exists()
    refusal = AuditEvent.objects.get(action="iam:roles:deleteRole", outcome="denied")  # refused by the page
    assert (refusal.actor_name, refusal.target_repr) == ("viewer", f"/iam/policies/{scratch_policy.pk}/delete/")


def test_clone_a_system_role_into_a_custom_policy(as_user, policy_named):
    source = policy_named("IMS Administrator")
    response = as_user("iam-admin").post(f"/iam/policies/{source.pk}/clone/", {"name": "My IMS admin",
                                                                             "description": "copy"})
    copy = Policy.objects.get(name="My IMS admin")
    assert response.status_code == 302 and response["Location"] == f"/iam/policies/{copy.pk}/"
    assert copy.is_custom and copy.document["Version"] == "1.1"
    assert copy.document["Statement"] == source.document["Statement"]
    event = AuditEvent.objects.get(action="iam:roles:createRole", target_id=str(copy.pk))
    assert event.details["cloned_from"]["name"] == "IMS Administrator"


def test_clone_under_a_taken_name_is_refused_on_the_form(as_user, policy_named):
    source = policy_named("IMS FullAccess")
    response = as_user("iam-admin").post(f"/iam/policies/{source.pk}/clone/", {"name": "DenyImageDeletion"})
    assert response.status_code == 422
    assert "already exists" in response.content.decode()


def test_a_policy_of_many_wildcards_is_validated_as_you_type(as_user, demo):
    """Patterns that once backtracked for hours (issue 7) get their findings at once, on the right lines."""
    text = ('{\n  "Version": "1.1",\n  "Statement": [{"Effect": "Allow", "Action": [\n'
            f'    "ims:{"*" * 30}s:list",\n    "ims:{"*" * 30}x:list"\n  ]}}]\n}}')
    with deadline(10, "the validator endpoint"):
        response = as_user("iam-admin").post("/iam/policies/validate/", {"mode": "json", "document": text},
                                             headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert _marked_lines(html) == {5: "error"}
    assert "matches no IMS action" in html and "1 error" in html
