"""Policy history: every save kept, the diff and summary between revisions, and restore through the
edit service (permission, validation, no-escalation, concurrency, audit), as service and as pages."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services
from accounts.enforcement import Refused
from accounts.models import AuditEvent, Policy, PolicyRevision, User
from accounts.policy.compare import line_diff, statement_changes

ONE = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]}
TWO = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list", "ims:images:get"]},
                                       {"Effect": "Deny", "Action": ["ims:images:delete"]}]}
NO_DENY = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]}


def persona(name):
    return User.objects.get(username=name)


@pytest.fixture
def edited(demo):
    """A custom policy at revision 2 (created by admin, edited by iam-admin), attached to no group."""
    policy = services.policy_create(actor=persona("admin"), name="Edited", description="first", document=ONE)
    return services.policy_update(actor=persona("iam-admin"), policy=policy, name="Edited", description="second",
                                  document=TWO, expected_revision=1)


@pytest.fixture
def attached_deny(demo):
    """DenyImageDeletion (attached to developers in cn-north-4_dev) with an old revision that denies nothing."""
    policy = Policy.objects.get(name="DenyImageDeletion")
    current = policy.document
    services.policy_update(actor=None, policy=policy, name=policy.name, description="softened", document=NO_DENY,
                           expected_revision=policy.revision)
    policy.refresh_from_db()
    services.policy_update(actor=None, policy=policy, name=policy.name, description="", document=current,
                           expected_revision=policy.revision)
    policy.refresh_from_db()
    return policy


# --- the record -----------------------------------------------------------------------------------


def test_every_save_is_a_revision_with_author_and_document(edited):
    revisions = list(PolicyRevision.objects.filter(policy=edited).order_by("number"))
    assert [(r.number, r.author_name, r.description, r.document) for r in revisions] == [
        (1, "admin", "first", ONE), (2, "iam-admin", "second", TWO)]
    assert edited.revision == 2


def test_statement_summary_reads_as_sentences():
    changes = statement_changes(ONE, TWO)
    assert "Statement 1 now also allows ims:images:get." in changes
    assert "Statement 2 added: it denies ims:images:delete." in changes
    assert statement_changes(TWO, ONE)[-1] == "Statement 2 removed (it denies ims:images:delete)."
    with_condition = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"],
                                                       "Condition": {"StringEquals": {"ims:OsType": ["Linux"]}}}]}
    assert statement_changes(ONE, with_condition) == [
        "Statement 1: condition StringEquals ims:OsType = Linux added."]
    assert statement_changes(ONE, ONE) == []


def test_line_diff_marks_added_and_removed_lines_with_numbers():
    lines = line_diff(ONE, TWO)
    assert lines[0].kind == "@"
    added = [line for line in lines if line.kind == "+"]
    assert any('"ims:images:get"' in line.text for line in added)
    assert all(line.new_number and line.old_number is None for line in added)
    assert line_diff(ONE, ONE) == []


# --- restore through the service ------------------------------------------------------------------


def test_restore_saves_the_old_document_as_a_new_revision_audited(edited):
    restored = services.policy_restore(actor=persona("admin"), policy=edited, number=1, expected_revision=2)
    assert (restored.revision, restored.document, restored.description, restored.name) == (3, ONE, "first", "Edited")
    newest = PolicyRevision.objects.get(policy=edited, number=3)
    assert (newest.restored_from, newest.author_name, newest.document) == (1, "admin", ONE)
    event = AuditEvent.objects.filter(action="iam:roles:updateRole", target_id=str(edited.pk)).first()
    assert event.outcome == "allowed" and event.details["restored_from"] == 1 and event.details["revision"] == 3
    assert event.details["after"]["document"] == ONE


def test_restore_refuses_a_stale_revision(edited):
    with pytest.raises(services.ConcurrentEditError):
        services.policy_restore(actor=persona("admin"), policy=edited, number=1, expected_revision=1)
    edited.refresh_from_db()
    assert edited.revision == 2 and edited.document == TWO
    assert not PolicyRevision.objects.filter(policy=edited, number=3).exists()


def test_restore_needs_update_permission_and_is_audited(edited):
    with pytest.raises(Refused):
        services.policy_restore(actor=persona("viewer"), policy=edited, number=1, expected_revision=2)
    edited.refresh_from_db()
    assert edited.revision == 2
    refusal = AuditEvent.objects.filter(action="iam:roles:updateRole", outcome="denied", actor_name="viewer").first()
    assert refusal is not None and refusal.target_id == str(edited.pk)


def test_restore_obeys_the_no_escalation_rule(attached_deny):
    """Bringing back a revision without the Deny hands ims:images:delete back to the developers:
    iam-admin does not hold it in cn-north-4_dev, so it may not."""
    number = PolicyRevision.objects.get(policy=attached_deny, description="softened").number
    revision = attached_deny.revision
    with pytest.raises(Refused) as refused:
        services.policy_restore(actor=persona("iam-admin"), policy=attached_deny, number=number,
                                expected_revision=revision)
    assert "ims:images:delete" in str(refused.value)
    attached_deny.refresh_from_db()
    assert attached_deny.revision == revision
    assert AuditEvent.objects.filter(action="iam:roles:updateRole", outcome="denied", actor_name="iam-admin").exists()
    restored = services.policy_restore(actor=persona("admin"), policy=attached_deny, number=number,
                                       expected_revision=revision)
    assert restored.document == NO_DENY


def test_restore_validates_the_old_document(edited):
    """A recorded document the validator now refuses (an action since renamed) is not restored."""
    PolicyRevision.objects.filter(policy=edited, number=1).update(
        document={"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:lst"]}]})
    with pytest.raises(services.PolicyDocumentError):
        services.policy_restore(actor=persona("admin"), policy=edited, number=1, expected_revision=2)
    edited.refresh_from_db()
    assert edited.revision == 2


def test_restore_of_a_missing_revision_or_a_system_policy(edited):
    with pytest.raises(ValidationError, match="no recorded revision 9"):
        services.policy_restore(actor=persona("admin"), policy=edited, number=9, expected_revision=2)
    system = Policy.objects.get(name="IMS FullAccess")
    with pytest.raises(ValidationError):
        services.policy_restore(actor=persona("admin"), policy=system, number=1, expected_revision=system.revision)


# --- pages ----------------------------------------------------------------------------------------


def test_history_page_anonymous_forbidden_allowed(client, as_user, edited):
    url = f"/iam/policies/{edited.pk}/history/"
    assert client.get(url).status_code == 302
    assert as_user("newcomer").get(url).status_code == 403
    page = as_user("iam-admin").get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Statement 1 now also allows ims:images:get." in text
    assert "Statement 2 added: it denies ims:images:delete." in text
    assert "+</span> added" in text and 'data-revision="1"' in text and "Restore…" in text


def test_history_out_of_scope_answers(as_user, edited):
    browser = as_user("admin")
    assert browser.get("/iam/policies/999999/history/").status_code == 404
    system = Policy.objects.get(name="IMS FullAccess")
    assert browser.get(f"/iam/policies/{system.pk}/history/").status_code == 409
    missing = browser.get(f"/iam/policies/{edited.pk}/history/?from=1&to=7")
    assert missing.status_code == 404 and "no recorded revision 7" in missing.content.decode()
    assert browser.get(f"/iam/policies/{edited.pk}/history/?from=x&to=y").status_code == 200


def test_history_query_count_does_not_grow_with_revisions(as_user, edited, django_assert_max_num_queries):
    browser = as_user("admin")
    url = f"/iam/policies/{edited.pk}/history/"
    browser.get(url)
    with CaptureQueriesContext(connection) as few:
        browser.get(url)
    policy = edited
    for number in range(8):
        policy = services.policy_update(actor=None, policy=policy, name=policy.name, description=f"d{number}",
                                        document=ONE if number % 2 else TWO, expected_revision=policy.revision)
    browser.get(url)
    with CaptureQueriesContext(connection) as many:
        browser.get(url)
    assert len(few) == len(many) <= 10


def test_restore_review_lists_groups_and_changed_decisions(as_user, attached_deny):
    number = PolicyRevision.objects.get(policy=attached_deny, description="softened").number
    page = as_user("admin").get(f"/iam/policies/{attached_deny.pk}/restore/?number={number}")
    assert page.status_code == 200
    text = page.content.decode()
    assert "developers" in text
    assert "Members of developers (1 user)" in text and 'data-user="developer"' in text
    assert '<li data-action="ims:images:delete" data-change="gains">' in text
    assert "in cn-north-4_dev" in text and "(Denied explicitly → Allowed)" in text
    refused = as_user("iam-admin").get(f"/iam/policies/{attached_deny.pk}/restore/?number={number}")
    assert refused.status_code == 200 and 'data-testid="restore-escalation"' in refused.content.decode()


def test_restore_page_refusals_and_bad_input(client, as_user, edited):
    url = f"/iam/policies/{edited.pk}/restore/"
    assert client.get(url + "?number=1").status_code == 302
    assert as_user("viewer").get(url + "?number=1").status_code == 403
    browser = as_user("admin")
    assert browser.get(url).status_code == 404
    assert browser.get(url + "?number=nine").status_code == 404
    assert browser.get(url + "?number=8").status_code == 404


def test_restore_post_saves_or_reports_conflict(as_user, edited):
    browser = as_user("admin")
    url = f"/iam/policies/{edited.pk}/restore/"
    stale = browser.post(url, {"number": 1, "expected_revision": 1})
    assert stale.status_code == 409 and "changed by someone else" in stale.content.decode()
    done = browser.post(url, {"number": 1, "expected_revision": 2})
    assert done.status_code == 302 and done["Location"].endswith(f"/iam/policies/{edited.pk}/history/")
    edited.refresh_from_db()
    assert edited.revision == 3 and edited.document == ONE


def test_restore_post_escalation_is_refused_on_the_page(as_user, attached_deny):
    number = PolicyRevision.objects.get(policy=attached_deny, description="softened").number
    answer = as_user("iam-admin").post(f"/iam/policies/{attached_deny.pk}/restore/",
                                       {"number": number, "expected_revision": attached_deny.revision})
    assert answer.status_code == 403 and "ims:images:delete" in answer.content.decode()
    attached_deny.refresh_from_db()
    assert attached_deny.document != NO_DENY


def test_policy_page_links_to_history(as_user, edited):
    text = as_user("iam-admin").get(f"/iam/policies/{edited.pk}/").content.decode()
    assert f'href="/iam/policies/{edited.pk}/history/"' in text


def test_restore_review_query_count_does_not_grow_with_members(as_user, attached_deny):
    from accounts import authz
    from accounts.models import Membership, UserGroup

    number = PolicyRevision.objects.get(policy=attached_deny, description="softened").number
    url = f"/iam/policies/{attached_deny.pk}/restore/?number={number}"
    browser = as_user("admin")
    browser.get(url)
    with CaptureQueriesContext(connection) as few:
        browser.get(url)
    developers = UserGroup.objects.get(name="developers")
    User.objects.bulk_create(User(username=f"dev-{n:02d}") for n in range(30))
    Membership.objects.bulk_create(Membership(user=u, group=developers)
                                   for u in User.objects.filter(username__startswith="dev-"))
    authz.bump_stamp()
    browser.get(url)
    with CaptureQueriesContext(connection) as many:
        page = browser.get(url)
    assert len(few) == len(many)
    text = page.content.decode()
    assert "Members of developers (31 users)" in text and "and 11 more." in text  # 20 names shown
    assert text.count('<li data-action="ims:images:delete" data-change="gains">') == 1
