"""Grants that end, through every door that makes grants (issue 21): the attach page, Django admin and
IAM as code (iam_export / iam_apply). The engine's clock is frozen by patching django.utils.timezone.now."""

import json
import tempfile
from datetime import UTC, datetime, timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import authz, iac
from accounts.models import AuditEvent, Grant, User
from tests.iac.conftest import find, text_of

from .conftest import group, policy, project

pytestmark = pytest.mark.usefixtures("demo")
T0 = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)


def frozen(moment):
    return mock.patch("django.utils.timezone.now", return_value=moment)


def attach_url(of_group):
    return f"/iam/groups/{of_group.pk}/permissions/attach/"


def choice(**more):
    return {"policies": policy("IMS ReadOnlyAccess").pk, "scope": "projects", "projects": project("cn-north-4").pk,
            **more}


# --- the attach page: anonymous, forbidden, allowed, out of scope; the end refused on its field

def test_anonymous_is_sent_to_sign_in_and_nothing_is_attached(client, ops):
    response = client.post(attach_url(ops), choice(duration="1h", step="confirm"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Grant.objects.filter(group=ops).exists()


def test_a_user_without_grant_permission_is_refused(as_user, ops):
    response = as_user("viewer").post(attach_url(ops), choice(duration="1h", step="confirm"))
    assert response.status_code == 403
    assert not Grant.objects.filter(group=ops).exists()


@pytest.mark.parametrize(("duration", "length"), [("1h", timedelta(hours=1)), ("8h", timedelta(hours=8)),
                                                  ("1d", timedelta(days=1)), ("7d", timedelta(days=7))])
def test_attaching_for_a_while_sets_the_end_from_the_confirmation(as_user, ops, duration, length):
    browser = as_user("admin")
    with frozen(T0):
        review = browser.post(attach_url(ops), choice(duration=duration, step="review"), follow=True).content.decode()
        assert f'name="duration" value="{duration}"' in review
        assert "The grants last until" in review
    with frozen(T0 + timedelta(minutes=5)):  # the duration counts from the confirmation
        done = browser.post(attach_url(ops), choice(duration=duration, step="confirm"), follow=True)
        assert "until" in done.content.decode()
    grant = Grant.objects.get(group=ops)
    assert grant.expires == T0 + timedelta(minutes=5) + length
    event = AuditEvent.objects.get(action="iam:permissions:grantPermission", actor_name="admin",
                                   target_id=str(ops.pk))
    assert event.details["after"]["expires"] == (T0 + timedelta(minutes=5) + length).strftime("%Y-%m-%d %H:%M UTC")


def test_attaching_until_a_time_and_the_permissions_tab_shows_it(as_user, ops):
    browser = as_user("admin")
    with frozen(T0):
        browser.post(attach_url(ops), choice(duration="until", expires="2026-12-06T18:00", step="confirm"))
        assert Grant.objects.get(group=ops).expires == datetime(2026, 12, 6, 18, 0, tzinfo=UTC)
        tab = browser.get(f"/iam/groups/{ops.pk}/permissions/").content.decode()
        assert "until 18:00 GMT+00:00 (in 3 h)" in tab


def test_without_a_duration_the_grant_has_no_end(as_user, ops):
    as_user("admin").post(attach_url(ops), choice(step="confirm"))
    assert Grant.objects.get(group=ops).expires is None


@pytest.mark.parametrize("step", ["review", "confirm"])
def test_an_end_in_the_past_is_refused_on_its_field(as_user, ops, step):
    with frozen(T0):
        response = as_user("admin").post(attach_url(ops), choice(duration="until", expires="2026-12-06T14:59",
                                                                 step=step))
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="expires-error" role="alert">The end must be in the future.' in html
    assert 'aria-invalid="true"' in html
    assert not Grant.objects.filter(group=ops).exists()


def test_until_without_a_time_is_refused_on_its_field(as_user, ops):
    response = as_user("admin").post(attach_url(ops), choice(duration="until", step="review"))
    assert response.status_code == 422
    assert "Give the date and time the grants end." in response.content.decode()


def test_out_of_scope_an_ending_grant_is_still_refused_by_the_no_escalation_rule(as_user, ops):
    """iam-admin may grant, but holds no image permission: even an hour of IMS FullAccess is not theirs to give."""
    with frozen(T0):
        response = as_user("iam-admin").post(attach_url(ops), {
            "policies": policy("IMS FullAccess").pk, "scope": "all", "duration": "1h", "step": "confirm"})
    assert response.status_code in (403, 422)
    assert not Grant.objects.filter(group=ops).exists()


def test_the_confirmation_with_an_end_costs_the_queries_of_one_without(as_user, ops):
    browser = as_user("admin")
    other = group("viewers")
    with frozen(T0):
        browser.post(attach_url(ops), choice(step="confirm"))  # warm
        browser.post(attach_url(ops), {**choice(step="confirm"), "policies": policy("IMS FullAccess").pk})
        with CaptureQueriesContext(connection) as plain:
            browser.post(attach_url(other), {**choice(step="confirm"), "policies": policy("IMS FullAccess").pk})
        with CaptureQueriesContext(connection) as ending:
            browser.post(attach_url(ops), {**choice(step="confirm", duration="1h"),
                                           "policies": policy("Server Administrator").pk})
    # Server Administrator brings two dependencies: three grants, whose cost per grant the page shares.
    assert len(ending) <= len(plain) + 3 * 12, (len(plain), len(ending))
    assert Grant.objects.get(group=ops, policy__name="Server Administrator").expires == T0 + timedelta(hours=1)


# --- Django admin

def test_django_admin_makes_an_ending_grant_and_refuses_a_past_end(client, ops):
    client.force_login(User.objects.get(username="admin"))
    with frozen(T0):
        past = client.post("/admin/accounts/grant/add/", {
            "group": ops.pk, "policy": policy("IMS ReadOnlyAccess").pk, "all_resources": "on",
            "expires_0": "2026-12-06", "expires_1": "14:00:00"})
        assert past.status_code == 200 and "The end must be in the future." in past.content.decode()
        assert not Grant.objects.filter(group=ops).exists()
        made = client.post("/admin/accounts/grant/add/", {
            "group": ops.pk, "policy": policy("IMS ReadOnlyAccess").pk, "all_resources": "on",
            "expires_0": "2026-12-06", "expires_1": "18:00:00"})
        assert made.status_code == 302
        assert Grant.objects.get(group=ops).expires == datetime(2026, 12, 6, 18, 0, tzinfo=UTC)
        listing = client.get("/admin/accounts/grant/").content.decode()
        assert "Dec. 6, 2026, 6 p.m." in listing or "2026" in listing


# --- IAM as code: export, plan, apply; set, change, clear; an end already past ends the grant at once

def attach_for(of_group, name, expires):
    from accounts import services

    with frozen(T0):
        services.grant_attach(actor=None, group=of_group, policies=[policy(name)], all_resources=True,
                              expires=expires)


def apply(data, at=T0):
    with frozen(at):
        configuration = iac.parse_text(text_of(data))
        stdout = StringIO()
        # A file of this test's own: a fixed name in /tmp is shared by every run on the machine (two clones'
        # suites at once), and another run's file applied here leaves other grants on the group.
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete_on_close=False) as handle:
            handle.write(text_of(data))
            handle.close()
            call_command("iam_apply", handle.name, stdout=stdout)
        return configuration, stdout.getvalue()


def test_export_writes_the_end_and_applying_the_export_changes_nothing(ops):
    attach_for(ops, "IMS ReadOnlyAccess", T0 + timedelta(hours=3))
    with frozen(T0):
        text = iac.export_text()
        data = json.loads(text)
        _, entry = find(data["grants"], group="ops")
        assert entry["expires"] == "2026-12-06T18:00:00Z"
        _, permanent = find(data["grants"], group="ims-admins")
        assert "expires" not in permanent  # no end: no key, so older files read the same
        assert iac.dumps(iac.parse_text(text)) == text
        assert iac.trial_plan(iac.parse_text(text), actor=None).is_noop


def test_iam_apply_sets_changes_and_clears_an_end_and_the_plan_shows_it(ops):
    attach_for(ops, "IMS ReadOnlyAccess", None)
    with frozen(T0):
        data = json.loads(iac.export_text())
    index, _ = find(data["grants"], group="ops")
    data["grants"][index]["expires"] = "2026-12-31T18:00:00Z"
    with frozen(T0):
        plan = iac.trial_plan(iac.parse_text(text_of(data)), actor=User.objects.get(username="admin"))
    assert [(c.kind, c.subject, c.path, c.before, c.after) for c in plan.changes] == [
        ("change", "IMS ReadOnlyAccess → ops", f"$.grants[{index}].expires", "no end", "until 2026-12-31T18:00:00Z")]
    _, out = apply(data)
    assert "until 2026-12-31T18:00:00Z" in out
    assert Grant.objects.get(group=ops).expires == datetime(2026, 12, 31, 18, 0, tzinfo=UTC)
    event = AuditEvent.objects.filter(action="iam:permissions:grantPermission", message="end changed").latest("id")
    assert event.details["after"]["expires"] == "2026-12-31 18:00 UTC"
    data["grants"][index]["expires"] = "2026-12-07T09:30:00Z"  # shorter: the file says so, so it is so
    apply(data)
    assert Grant.objects.get(group=ops).expires == datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
    del data["grants"][index]["expires"]  # cleared
    apply(data)
    assert Grant.objects.get(group=ops).expires is None
    with frozen(T0):
        assert json.loads(iac.export_text())["grants"] == data["grants"]


def test_a_past_end_in_the_file_leaves_the_grant_allowing_nothing_and_a_future_one_allows_until_then(ops):
    from accounts import services

    member = User.objects.get(username="newcomer")
    services.group_add_member(actor=None, group=ops, user=member)
    attach_for(ops, "IMS ReadOnlyAccess", None)
    attach_for(ops, "Security Administrator", None)
    with frozen(T0):
        data = json.loads(iac.export_text())
    data["grants"][find(data["grants"], group="ops", policy="IMS ReadOnlyAccess")[0]]["expires"] = (
        "2026-12-06T14:00:00Z")
    data["grants"][find(data["grants"], group="ops", policy="Security Administrator")[0]]["expires"] = (
        "2026-12-06T16:00:00Z")
    apply(data)
    stamp = authz.current_stamp()
    with frozen(T0):
        authz.forget(member)
        fresh = User.objects.get(pk=member.pk)
        assert not authz.decide(fresh, "ims:images:list", "cn-north-4").allowed  # ended at 14:00
        assert authz.decide(fresh, "iam:users:listUsers").allowed  # until 16:00
    with frozen(T0 + timedelta(hours=1)):
        assert not authz.decide(User.objects.get(pk=member.pk), "iam:users:listUsers").allowed
    assert authz.current_stamp() == stamp
    with frozen(T0):  # applying the same file again changes nothing
        assert iac.trial_plan(iac.parse_text(text_of(data)), actor=None).is_noop


def test_a_new_grant_whose_end_has_passed_is_not_attached_and_a_malformed_end_is_located(ops):
    with frozen(T0):
        data = json.loads(iac.export_text())
    data["grants"].append({"group": "ops", "policy": "IMS ReadOnlyAccess", "scope": "all_resources",
                           "expires": "2026-12-06T14:00:00Z"})
    with frozen(T0):
        plan = iac.trial_plan(iac.parse_text(text_of(data)), actor=None)
    assert plan.is_noop and any("ended at 2026-12-06T14:00:00Z" in message for _, message in plan.warnings)
    data["grants"][-1]["expires"] = "2026-13-01T00:00:00Z"
    with pytest.raises(iac.DocumentError) as refused:
        iac.parse_text(text_of(data))
    assert any(path.endswith(".expires") for path, _ in refused.value.errors)
