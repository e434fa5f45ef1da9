"""Last used: performed actions record their grants at most once a minute, and the pages read it back."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import last_used, least_privilege, services
from accounts.models import Grant, GrantLastUsed, Policy, UserGroup
from accounts.policy import validate_document

pytestmark = pytest.mark.usefixtures("demo")

NOON = datetime(2026, 12, 1, 12, 0, 5, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    """The last-used clock, moved by hand: clock.now += timedelta(...)."""
    last_used.reset()

    class Clock:
        now = NOON

    monkeypatch.setattr(last_used, "_now", lambda: Clock.now)
    yield Clock
    last_used.reset()


@pytest.fixture
def upserts(monkeypatch):
    """Counts the upserts (the only writes last-used makes)."""
    calls = []
    real = last_used._upsert

    def counting(rows):
        calls.append(list(rows))
        real(rows)

    monkeypatch.setattr(last_used, "_upsert", counting)
    return calls


def grant_of(group: str, policy: str) -> Grant:
    return Grant.objects.get(group__name=group, policy__name=policy)


def test_a_performed_action_is_written_once_per_minute(clock, upserts, as_user):
    browser = as_user("viewer")
    for _ in range(3):
        assert browser.get("/images/?project=cn-north-4").status_code == 200
    grant = grant_of("viewers", "IMS ReadOnlyAccess")
    row = GrantLastUsed.objects.get(grant=grant, action="ims:images:list")
    assert row.last_used_at == NOON.replace(second=0)
    assert len(upserts) == 1  # three requests, one write

    clock.now = NOON + timedelta(seconds=40)  # same minute: still nothing written
    browser.get("/images/?project=cn-north-4")
    assert len(upserts) == 1

    clock.now = NOON + timedelta(minutes=1)
    browser.get("/images/?project=cn-north-4")
    assert len(upserts) == 2
    row.refresh_from_db()
    assert row.last_used_at == (NOON + timedelta(minutes=1)).replace(second=0)


def test_the_write_is_after_the_response_in_one_statement(clock, as_user):
    browser = as_user("viewer")
    with CaptureQueriesContext(connection) as captured:
        browser.get("/images/?project=cn-north-4")
    upsert = [q["sql"] for q in captured.captured_queries if "ON CONFLICT" in q["sql"]]
    assert len(upsert) == 1
    statements = [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert statements[-1] == upsert[0]  # the last thing the request did, after the page was rendered


def test_refusals_and_the_admin_group_write_nothing(clock, upserts, as_user):
    as_user("viewer").get("/iam/users/")  # refused: 403
    as_user("admin").get("/images/?project=cn-north-4")  # allowed by the admin group, not by a grant
    assert upserts == []
    assert not GrantLastUsed.objects.exists()


def test_a_service_counts_once_its_transaction_commits(clock, django_capture_on_commit_callbacks):
    actor = UserGroup.objects.get(name="iam-admins").members.get()
    grant = grant_of("iam-admins", "Security Administrator")
    with django_capture_on_commit_callbacks(execute=True):
        services.group_create(actor=actor, name="auditors")
    assert GrantLastUsed.objects.filter(grant=grant, action="iam:groups:createGroup").exists()

    admin_group = UserGroup.objects.get(name="admin")
    with pytest.raises(PermissionDenied), django_capture_on_commit_callbacks(execute=True):
        # iam:groups:updateGroup is allowed, then the admin group is refused to a non-member
        services.group_update(actor=actor, group=admin_group, name="renamed", description="")
    assert not GrantLastUsed.objects.filter(grant=grant, action="iam:groups:updateGroup").exists()


def test_a_later_minute_wins_and_an_earlier_one_never_moves_it_back(clock):
    grant = grant_of("viewers", "IMS ReadOnlyAccess")
    later, earlier = NOON + timedelta(minutes=5), NOON
    last_used._upsert([((grant.pk, "ims:images:get"), later)])
    last_used._upsert([((grant.pk, "ims:images:get"), earlier)])  # another process, a minute behind
    assert GrantLastUsed.objects.get(grant=grant, action="ims:images:get").last_used_at == later


def test_a_grant_detached_before_the_flush_is_skipped(clock):
    grant = grant_of("viewers", "IMS ReadOnlyAccess")
    last_used._pending[(grant.pk, "ims:images:get")] = NOON
    last_used._pending[(999999, "ims:images:get")] = NOON
    assert last_used.flush() == 1
    assert GrantLastUsed.objects.count() == 1


def test_a_grant_detached_while_the_flush_runs_costs_one_retry_not_the_notes(clock, monkeypatch, caplog):
    """make faulttest's flapper: the administrator detaches a grant while a server flushes its notes."""
    from django.db import IntegrityError

    grant = grant_of("viewers", "IMS ReadOnlyAccess")
    real, calls = last_used._upsert, []

    def racing(rows):
        calls.append(rows)
        if len(calls) == 1:
            raise IntegrityError('insert or update on table "accounts_grantlastused" violates foreign key constraint')
        return real(rows)

    monkeypatch.setattr(last_used, "_upsert", racing)
    last_used._pending[(grant.pk, "ims:images:get")] = NOON
    assert last_used.flush() == 1
    assert GrantLastUsed.objects.filter(grant=grant, action="ims:images:get").exists()
    assert "not written" not in caplog.text


# --- read back on the pages -------------------------------------------------------------------


def test_the_group_and_policy_pages_show_last_used(clock, as_user):
    as_user("viewer").get("/images/?project=cn-north-4")
    grant = grant_of("viewers", "IMS ReadOnlyAccess")
    admin = as_user("iam-admin")
    group_page = admin.get(f"/iam/groups/{grant.group_id}/permissions/").content.decode()
    assert "Last used" in group_page and "2026-12-01 12:00" in group_page and "ims:images:list" in group_page
    policy_page = admin.get(f"/iam/policies/{grant.policy_id}/").content.decode()
    assert "2026-12-01 12:00" in policy_page and "ims:images:list" in policy_page
    never = admin.get(f"/iam/groups/{UserGroup.objects.get(name='developers').pk}/permissions/").content.decode()
    assert "Never used" in never


# --- the unused-permissions report ------------------------------------------------------------


def test_least_privilege_keeps_what_was_used_with_its_conditions():
    document = {"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["ims:images:*"],
         "Condition": {"StringEquals": {"g:ProjectName": ["cn-north-4"]}}},
        {"Effect": "Allow", "Action": ["ims:quotas:get"]},
        {"Effect": "Deny", "Action": ["ims:images:delete"]},
        {"Effect": "Deny", "Action": ["ims:images:export"]},
    ]}
    suggested = least_privilege.least_privilege_document(document, {"ims:images:list", "ims:images:delete"})
    assert suggested == {"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["ims:images:delete", "ims:images:list"],
         "Condition": {"StringEquals": {"g:ProjectName": ["cn-north-4"]}}},
        {"Effect": "Deny", "Action": ["ims:images:delete"]},
    ]}
    assert validate_document(suggested).ok
    assert least_privilege.least_privilege_document(document, set()) is None


def test_the_report_lists_unused_actions_and_suggests_a_policy(clock, as_user):
    as_user("viewer").get("/images/?project=cn-north-4")
    report = {(u.grant.group.name, u.grant.policy.name): u for u in least_privilege.usage_report(90)}
    viewers = report[("viewers", "IMS ReadOnlyAccess")]
    assert list(viewers.used) == ["ims:images:list"]
    assert "ims:images:get" in dict(viewers.unused)
    assert viewers.suggestion == {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]}
    assert report[("developers", "IMS FullAccess")].suggestion is None  # nothing used: detach it
    assert not any(group == "admin" for group, _ in report)

    clock.now = NOON + timedelta(days=91)  # the use is now older than the window
    aged = {(u.grant.group.name, u.grant.policy.name): u for u in least_privilege.usage_report(90)}
    assert dict(aged[("viewers", "IMS ReadOnlyAccess")].unused)["ims:images:list"] == NOON.replace(second=0)


def test_the_report_page_refuses_anonymous_and_the_unpermitted(client, as_user):
    assert client.get("/iam/unused/").status_code == 302
    assert as_user("viewer").get("/iam/unused/").status_code == 403


def test_the_report_page_and_its_open_in_editor_button(clock, as_user):
    as_user("viewer").get("/images/?project=cn-north-4")
    admin = as_user("iam-admin")
    page = admin.get("/iam/unused/?days=30")
    assert page.status_code == 200
    text = page.content.decode()
    grant = grant_of("viewers", "IMS ReadOnlyAccess")
    assert "Unused permissions" in text and f"?suggest={grant.pk}&amp;days=30" in text
    assert "detaching it from developers is the least privilege" in text

    editor = admin.get(f"/iam/policies/new/?suggest={grant.pk}&days=30")
    assert editor.status_code == 200
    form = editor.context["form"]
    assert form.initial["name"] == "IMS ReadOnlyAccess least privilege for viewers"
    assert form.initial["document"]["Statement"] == [{"Effect": "Allow", "Action": ["ims:images:list"]}]
    assert "ims:images:list" in editor.content.decode()

    saved = admin.post("/iam/policies/new/", {"name": "viewers-lp", "description": "", "mode": "json",
                                             "document": json.dumps(form.initial["document"])})
    assert saved.status_code == 302 and Policy.objects.filter(name="viewers-lp").exists()


@pytest.mark.parametrize("days", ["0", "-3", "abc", "99999"])
def test_bad_days_are_a_clear_400(as_user, days):
    page = as_user("iam-admin").get(f"/iam/unused/?days={days}")
    assert page.status_code == 400 and "Days must be a whole number" in page.content.decode()


def test_a_suggestion_is_ignored_without_permission_or_for_nonsense(as_user):
    admin = as_user("iam-admin")
    for query in ("?suggest=abc", "?suggest=999999", f"?suggest={grant_of('viewers', 'IMS ReadOnlyAccess').pk}"):
        page = admin.get(f"/iam/policies/new/{query}")
        assert page.status_code == 200
        assert page.context["form"].initial["document"]["Statement"] == [{"Effect": "Allow", "Action": []}]


def test_the_report_page_has_a_constant_query_count(clock, as_user, django_assert_max_num_queries):
    admin = as_user("iam-admin")
    admin.get("/iam/unused/")
    with CaptureQueriesContext(connection) as few:
        admin.get("/iam/unused/")
    readonly = Policy.objects.get(name="IMS ReadOnlyAccess")
    for number in range(10):
        group = services.group_create(actor=None, name=f"readers{number}")
        services.grant_attach(actor=None, group=group, policies=[readonly], all_resources=True)
    admin.get("/iam/unused/")
    with CaptureQueriesContext(connection) as many:
        admin.get("/iam/unused/")
    assert len(few) == len(many)
    with django_assert_max_num_queries(12):
        admin.get("/iam/unused/")


def test_the_command_prints_the_report(clock, as_user):
    from io import StringIO

    from django.core.management import call_command

    as_user("viewer").get("/images/?project=cn-north-4")
    out = StringIO()
    call_command("iam_unused", "--days", "7", stdout=out)
    lines = {(line["group"], line["policy"]): line for line in map(json.loads, out.getvalue().splitlines())}
    viewers = lines[("viewers", "IMS ReadOnlyAccess")]
    assert list(viewers["used"]) == ["ims:images:list"]
    assert viewers["suggestion"]["Statement"] == [{"Effect": "Allow", "Action": ["ims:images:list"]}]
