"""Grants that end (issue 21): a grant past its end is absent at the very next decision, with no stamp bump.

The engine's one clock is `authz.clock()` (django.utils.timezone.now): these tests freeze it by
patching django.utils.timezone.now, as every caller of the engine sees it.
"""

import json
import os
import re
import signal
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import OperationalError, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import authz, services, who_can
from accounts.backends import PolicyBackend
from accounts.expiry import until_text
from accounts.models import AuditEvent, Grant, Membership, Policy, Project, User, UserGroup
from tests.accounts.test_decision_table import plain_decide
from tests.policy.test_policy_evaluator import contexts, documents
from tests.properties import examples

T0 = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)
PROJECT_NAMES = ["cn-north-4", "cn-north-4_dev", "eu-west-101"]  # demo projects
CELL = re.compile(r'data-project="eu-west-101" data-actions="ims:images:delete"\s+data-allowed="(true|false)"')


@contextmanager
def frozen(moment):
    """The engine's clock (and Django's) stopped at `moment`."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def decide_now(user, action, project=None, context=None):
    """One request's decision: a fresh user object, as every request loads."""
    user = User.objects.get(pk=user.pk)
    return authz.decide(user, action, project, None, context)


# --- the property: the engine over grants with ends equals the plain evaluator over the grants not ended

grant_plans = st.lists(st.tuples(
    st.integers(0, 3),                                       # which document
    st.booleans(),                                           # all resources
    st.lists(st.sampled_from(PROJECT_NAMES), max_size=2),    # projects
    st.one_of(st.none(), st.integers(-90, 90)),              # end, in minutes from T0 (None: no end)
), max_size=6)
asked = st.tuples(st.sampled_from(["ims:images:list", "ims:images:delete", "ims:images:get", "iam:users:listUsers",
                                   "ims:images:update", "iam:groups:getGroup"]),
                  st.one_of(st.none(), st.sampled_from(PROJECT_NAMES)), st.one_of(st.none(), contexts()))


@settings(max_examples=examples(60), suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(texts=st.lists(documents(), min_size=1, max_size=4), plans=grant_plans,
       moments=st.lists(st.integers(-120, 120), min_size=1, max_size=6).map(sorted),
       requests=st.lists(asked, min_size=1, max_size=6))
def test_the_engine_decides_as_the_plain_evaluator_over_the_grants_not_ended(demo, texts, plans, moments, requests):
    """Random grants with random ends, asked at random moments (time moves forward, as it does): the
    cached engine answers exactly as the plain evaluator over only the grants whose end has not come."""
    with transaction.atomic():
        authz._COMPILED_GRANTS.clear()
        projects = {p.name: p for p in Project.objects.filter(name__in=PROJECT_NAMES)}
        user = User.objects.create(username="expiry-property")
        policies = [Policy.objects.create(name=f"expiry-{n}", document=text)
                    for n, text in enumerate(texts)]
        for n, (which, whole, names, end) in enumerate(plans):
            group = UserGroup.objects.create(name=f"expiry-group-{n}")
            Membership.objects.create(user=user, group=group)
            grant = Grant.objects.create(group=group, policy=policies[which % len(policies)], all_resources=whole,
                                         expires=None if end is None else T0 + timedelta(minutes=end))
            grant.projects.set([projects[name] for name in names])
        stamp = authz.current_stamp()
        every = list(Grant.objects.filter(group__memberships__user=user).select_related("group", "policy")
                     .prefetch_related("projects").order_by("group__name", "policy__name"))
        for minutes in moments:
            now = T0 + timedelta(minutes=minutes)
            live = [authz.grant_rule(g) for g in every if g.expires is None or g.expires > now]
            plain = authz.CompiledGrants(user_id=user.pk, username=user.username, is_active=True, is_admin=False,
                                         rules=live, stamp="plain")
            with frozen(now):
                for action, project, context in requests:
                    assert decide_now(user, action, project, context) == plain_decide(
                        plain, action, project, None, context, request_keys={}, now=now), (minutes, action, project)
        assert authz.current_stamp() == stamp  # ends bumped nothing
        transaction.set_rollback(True)
    authz._COMPILED_GRANTS.clear()


# --- a grant ending between two requests, with no stamp bump, everywhere the engine answers

@pytest.fixture
def ending_grant(demo):
    """IMS FullAccess granted to the viewers group in eu-west-101 until T0 + 1 h."""
    with frozen(T0):
        services.grant_attach(actor=None, group=UserGroup.objects.get(name="viewers"),
                              policies=[Policy.objects.get(name="IMS FullAccess")], all_resources=False,
                              projects=[Project.objects.get(name="eu-west-101")], expires=T0 + timedelta(hours=1))
    return Grant.objects.get(group__name="viewers", policy__name="IMS FullAccess")


def test_a_grant_ending_between_two_requests_is_refused_on_the_second_with_no_stamp_bump(ending_grant, client):
    viewer = User.objects.get(username="viewer")
    client.force_login(viewer)
    stamp = authz.current_stamp()
    with frozen(T0 + timedelta(minutes=59)):
        assert decide_now(viewer, "ims:images:delete", "eu-west-101").allowed
        assert PolicyBackend().has_perm(User.objects.get(pk=viewer.pk), "images.delete_image",
                                        Project.objects.get(name="eu-west-101"))
        page = client.get("/me/permissions/").content.decode()
        assert CELL.search(page).group(1) == "true"
        assert "until 16:00 GMT+00:00 (in 1 min)" in page
        assert viewer.username in {m.username for m, _ in who_can.who_can("ims:images:delete", "eu-west-101").allowed}
    with frozen(T0 + timedelta(hours=1)):  # the end itself: ended
        assert not decide_now(viewer, "ims:images:delete", "eu-west-101").allowed
        assert not PolicyBackend().has_perm(User.objects.get(pk=viewer.pk), "images.delete_image",
                                            Project.objects.get(name="eu-west-101"))
        page = client.get("/me/permissions/").content.decode()
        assert CELL.search(page).group(1) == "false"
        assert viewer.username not in {m.username for m, _ in
                                       who_can.who_can("ims:images:delete", "eu-west-101").allowed}
        assert not who_can.group_authorization(UserGroup.objects.get(name="viewers")).allows(
            "ims:images:delete", "eu-west-101")
    assert authz.current_stamp() == stamp
    assert Grant.objects.filter(pk=ending_grant.pk).exists()  # nothing removed it: the engine left it out


def test_compiled_grants_know_their_earliest_end(ending_grant):
    with frozen(T0):
        grants = authz.authorization_for(User.objects.get(username="viewer")).grants
    assert grants.valid_until == T0 + timedelta(hours=1)
    assert grants.valid_at(T0 + timedelta(minutes=59)) and not grants.valid_at(T0 + timedelta(hours=1))


def test_a_grant_is_shown_with_its_end(ending_grant, as_user):
    client = as_user("admin")
    with frozen(T0 + timedelta(hours=-2)):  # 13:00: ends at 16:00, in 3 h
        page = client.get(f"/iam/groups/{ending_grant.group_id}/permissions/").content.decode()
        assert "until 16:00 GMT+00:00 (in 3 h)" in page
        page = client.get(f"/iam/policies/{ending_grant.policy_id}/").content.decode()
        assert "until 16:00 GMT+00:00 (in 3 h)" in page
        page = client.get("/iam/simulator/who-can/?action=ims:images:delete&project=eu-west-101").content.decode()
        assert "until 16:00 GMT+00:00 (in 3 h)" in page


def test_until_reads_as_time_and_distance():
    assert until_text(None) == ""
    assert until_text(T0 + timedelta(hours=3), now=T0) == "until 18:00 GMT+00:00 (in 3 h)"
    assert until_text(T0 + timedelta(minutes=20), now=T0) == "until 15:20 GMT+00:00 (in 20 min)"
    assert until_text(T0 + timedelta(hours=1) - timedelta(seconds=1), now=T0) == "until 15:59 GMT+00:00 (in 1 h)"
    assert until_text(T0 + timedelta(days=5), now=T0) == "until 2026-12-11 15:00 GMT+00:00 (in 5 d)"
    assert until_text(T0 - timedelta(minutes=1), now=T0) == "until 14:59 GMT+00:00 (ended)"


def test_until_reads_in_the_persons_zone_and_language():
    """Shanghai's evening of T0 is 23:00: three hours on is the next day there, and labelled so."""
    from zoneinfo import ZoneInfo

    from django.utils import timezone, translation

    with timezone.override(ZoneInfo("Asia/Shanghai")):
        assert until_text(T0 + timedelta(hours=3), now=T0) == "until 2026-12-07 02:00 GMT+08:00 (in 3 h)"
        assert until_text(T0 + timedelta(minutes=30), now=T0) == "until 23:30 GMT+08:00 (in 30 min)"
        with translation.override("zh-hans"):
            assert until_text(T0 + timedelta(minutes=30), now=T0) == "有效至 23:30 GMT+08:00（30 分钟后）"
            assert until_text(T0 - timedelta(days=1), now=T0) == "有效至 2026-12-05 23:00 GMT+08:00（已结束）"


# --- the service: ends, attaching again, refusals, audit

@pytest.fixture
def ops(demo):
    return services.group_create(actor=None, name="expiry-ops")


def attach(group, name, expires, *, at=T0):
    with frozen(at):
        return services.grant_attach(actor=None, group=group, policies=[Policy.objects.get(name=name)],
                                     all_resources=True, expires=expires)


def end_of(group, name):
    return Grant.objects.get(group=group, policy__name=name).expires


def test_attaching_again_keeps_the_later_end_and_no_end_wins(ops):
    attach(ops, "IMS ReadOnlyAccess", T0 + timedelta(hours=1))
    attach(ops, "IMS ReadOnlyAccess", T0 + timedelta(hours=8))
    assert end_of(ops, "IMS ReadOnlyAccess") == T0 + timedelta(hours=8)
    attach(ops, "IMS ReadOnlyAccess", T0 + timedelta(hours=2))  # shorter: the later end stays
    assert end_of(ops, "IMS ReadOnlyAccess") == T0 + timedelta(hours=8)
    attach(ops, "IMS ReadOnlyAccess", None)  # no end wins
    assert end_of(ops, "IMS ReadOnlyAccess") is None
    attach(ops, "IMS ReadOnlyAccess", T0 + timedelta(hours=1))  # a permanent grant stays permanent
    assert end_of(ops, "IMS ReadOnlyAccess") is None
    events = AuditEvent.objects.filter(action="iam:permissions:grantPermission", target_id=str(ops.pk))
    assert events.count() == 5
    assert events.order_by("id")[1].details["before"]["expires"] == "2026-12-06 16:00 UTC"
    assert events.order_by("id")[1].details["after"]["expires"] == "2026-12-06 23:00 UTC"


def test_attaching_an_ended_grant_again_starts_it_afresh(ops):
    attach(ops, "IMS ReadOnlyAccess", T0 + timedelta(hours=1))
    attach(ops, "IMS ReadOnlyAccess", T0 + timedelta(hours=3), at=T0 + timedelta(hours=2))
    assert end_of(ops, "IMS ReadOnlyAccess") == T0 + timedelta(hours=3)


def test_dependencies_come_along_until_the_same_end(ops):
    with frozen(T0):
        services.grant_attach(actor=None, group=ops, policies=[Policy.objects.get(name="Server Administrator")],
                              all_resources=False, projects=[Project.objects.get(name="cn-north-4")],
                              expires=T0 + timedelta(days=1))
    assert {g.policy.name: g.expires for g in Grant.objects.filter(group=ops).select_related("policy")} == {
        name: T0 + timedelta(days=1) for name in ("Server Administrator", "IMS Administrator", "Tenant Administrator")}


def test_an_end_in_the_past_is_refused_on_its_field(ops):
    with pytest.raises(ValidationError) as refused:
        attach(ops, "IMS ReadOnlyAccess", T0 - timedelta(seconds=1))
    assert "expires" in refused.value.message_dict
    assert not Grant.objects.filter(group=ops).exists()


def test_an_ending_grant_is_still_a_grant_for_the_no_escalation_rule(demo):
    """iam-admin holds no image permission: attaching IMS FullAccess for an hour is still refused."""
    from django.core.exceptions import PermissionDenied

    with frozen(T0), pytest.raises(PermissionDenied):
        services.grant_attach(actor=User.objects.get(username="iam-admin"), group=UserGroup.objects.get(name="viewers"),
                              policies=[Policy.objects.get(name="IMS FullAccess")], all_resources=True,
                              expires=T0 + timedelta(hours=1))


# --- the command that tidies afterwards

def test_expire_grants_removes_only_ended_grants_and_audits_each(ops):
    attach(ops, "IMS ReadOnlyAccess", T0 + timedelta(hours=1))
    attach(ops, "Security Administrator", T0 + timedelta(hours=3))
    attach(ops, "IMS FullAccess", None)
    stdout = StringIO()
    with frozen(T0 + timedelta(hours=2)):
        call_command("expire_grants", stdout=stdout)
    assert set(Grant.objects.filter(group=ops).values_list("policy__name", flat=True)) == {
        "Security Administrator", "IMS FullAccess"}
    assert "removed IMS ReadOnlyAccess → expiry-ops" in stdout.getvalue()
    assert "1 ended grant removed." in stdout.getvalue()
    removal = AuditEvent.objects.get(action="iam:permissions:revokePermission", target_id=str(ops.pk))
    assert (removal.actor, removal.actor_name, removal.message) == (None, "system", "expired")
    assert removal.details["policy"] == "IMS ReadOnlyAccess"
    assert removal.details["before"]["expires"] == "2026-12-06 16:00 UTC"
    with frozen(T0 + timedelta(hours=2)):
        call_command("expire_grants", stdout=StringIO())  # again: nothing more
    assert AuditEvent.objects.filter(action="iam:permissions:revokePermission", target_id=str(ops.pk)).count() == 1


def runs_at(monkeypatch, *moments, failing=()):
    """The periodic job's runs see the engine's clock at `moments`, one per run; the runs numbered in
    `failing` (from 0) find the database down instead."""
    from accounts.management.commands import expire_grants as command

    real, calls = command.expire_grants, []

    def run():
        number = len(calls)
        calls.append(number)
        if number in failing:
            raise OperationalError("connection failed: Connection refused\n\tIs the server running?")
        with frozen(moments[number]):
            return real()

    monkeypatch.setattr(command, "expire_grants", run)
    return calls


def job(*arguments) -> list[dict]:
    stdout = StringIO()
    call_command("expire_grants", *arguments, stdout=stdout)
    return [json.loads(line) for line in stdout.getvalue().splitlines()]


def expired_removals(group) -> list[str]:
    return list(AuditEvent.objects.filter(action="iam:permissions:revokePermission", target_id=str(group.pk),
                                          message="expired").order_by("pk").values_list("details__policy", flat=True))


def test_every_runs_periodically_and_logs_one_json_line_per_run(ops, monkeypatch):
    attach(ops, "IMS ReadOnlyAccess", T0 + timedelta(hours=1))
    attach(ops, "Security Administrator", T0 + timedelta(hours=3))
    runs_at(monkeypatch, T0 + timedelta(hours=2), T0 + timedelta(hours=4))
    first, second = job("--every", "0.01", "--runs", "2")
    assert (first["event"], first["status"], first["removed_grants"]) == (
        "expire_grants", "ok", ["IMS ReadOnlyAccess → expiry-ops"])
    assert (second["status"], second["removed_grants"]) == ("ok", ["Security Administrator → expiry-ops"])
    assert expired_removals(ops) == ["IMS ReadOnlyAccess", "Security Administrator"]
    assert not Grant.objects.filter(group=ops).exists()


def test_a_database_outage_in_one_run_is_logged_and_the_next_run_catches_up(ops, monkeypatch):
    attach(ops, "IMS ReadOnlyAccess", T0 + timedelta(hours=1))
    calls = runs_at(monkeypatch, T0 + timedelta(hours=2), T0 + timedelta(hours=2), failing={0})
    down, back = job("--every", "0.01", "--runs", "2")
    assert calls == [0, 1]
    assert (down["status"], down["error"]) == ("error", "OperationalError: connection failed: Connection refused")
    assert "removed_grants" not in down
    assert (back["status"], back["removed_grants"]) == ("ok", ["IMS ReadOnlyAccess → expiry-ops"])
    assert expired_removals(ops) == ["IMS ReadOnlyAccess"]


def test_sigterm_ends_the_periodic_job_after_the_run_in_progress(ops, monkeypatch):
    from accounts.management.commands import expire_grants as command

    real, before = command.expire_grants, signal.getsignal(signal.SIGTERM)

    def run_then_stopped():
        removed = real()
        os.kill(os.getpid(), signal.SIGTERM)  # a deployment stopping the job while it runs
        return removed

    monkeypatch.setattr(command, "expire_grants", run_then_stopped)
    lines = job("--every", "5", "--runs", "3")
    assert [line["status"] for line in lines] == ["ok"]  # the run finished and logged; no other began
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.parametrize(("arguments", "message"), [
    (["--every", "0"], "a positive number of seconds is needed, not '0'"),
    (["--every", "-5"], "a positive number of seconds is needed"),
    (["--every", "soon"], "a number of seconds is needed, not 'soon'"),
    (["--every", "nan"], "a positive number of seconds is needed"),
    (["--every", "1", "--runs", "0"], "a whole number of runs (1 or more) is needed, not '0'"),
    (["--runs", "2"], "--runs goes with --every."),
])
def test_periodic_options_refuse_bad_values_clearly(demo, arguments, message):
    with pytest.raises(CommandError) as refused:
        call_command("expire_grants", *arguments, stdout=StringIO())
    assert message in str(refused.value)
