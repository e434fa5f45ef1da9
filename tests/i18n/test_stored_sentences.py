"""Issue 24: sentences the console stores in English and shows later — the audit log's messages (the
engine's refusals, no-escalation refusals), an access request's reason when the console wrote it (answered
at once, nobody decided in time) — read in Simplified Chinese where a page or an e-mail shows them, while
the row, the CSV export and the API keep the English, and a person's own words stay as written."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.utils import translation

from accounts import authz, services
from accounts.enforcement import Refused
from accounts.models import AccessRequest, AuditEvent, UserGroup
from accounts.services import access_requests as access_service
from tests.demo_rows import project, user
from tests.i18n.reading import EN, ZH, page_text

pytestmark = pytest.mark.usefixtures("demo")


def _in(language: str, read) -> str:
    """What `read()` says with `language` active."""
    with translation.override(language):
        return str(read())


def _audit(as_user, action: str, language) -> str:
    return page_text(as_user("admin").get("/iam/audit/", {"action": action}, **language))


# --- the audit log

def test_an_implicit_deny_reads_in_chinese_in_the_audit_log_and_stays_english_in_the_row(as_user):
    as_user("viewer").get("/iam/users/")
    event = AuditEvent.objects.filter(action="iam:users:listUsers", outcome="denied").latest("pk")
    assert event.message == "Denied: no grant allows iam:users:listUsers (implicit deny)."
    chinese = _audit(as_user, "iam:users:listUsers", ZH)
    assert "被拒绝：没有任何授权允许 iam:users:listUsers（隐式拒绝）。" in chinese
    assert "no grant allows" not in chinese
    assert "Denied: no grant allows iam:users:listUsers (implicit deny)." in _audit(as_user, "iam:users:listUsers", EN)
    export = as_user("admin").get("/iam/audit/export.csv", {"action": "iam:users:listUsers"}, **ZH)
    assert "Denied: no grant allows iam:users:listUsers (implicit deny)." in b"".join(export).decode()


def test_an_explicit_deny_reads_in_the_audit_log_as_the_403_said_it(as_user, image_named):
    image = image_named("cn-north-4-dev-centos-system-00")
    refused = _page_any(as_user("developer").post(f"/images/{image.pk}/delete/?project=cn-north-4_dev", **ZH))
    decision = authz.decide(user("developer"), "ims:images:delete", project=project("cn-north-4_dev"), image=image)
    chinese_summary = _in("zh-hans", lambda: decision.summary)
    assert chinese_summary in refused and "DenyImageDeletion" in chinese_summary
    assert chinese_summary in _audit(as_user, "ims:images:delete", ZH)
    assert _in("en", lambda: decision.summary) in _audit(as_user, "ims:images:delete", EN)
    event = AuditEvent.objects.filter(action="ims:images:delete", outcome="denied").latest("pk")
    assert event.message == _in("en", lambda: decision.summary)


def test_the_image_history_shows_its_refusals_in_chinese(as_user, image_named):
    image = image_named("cn-north-4-ubuntu-system-00")
    as_user("viewer").post(f"/images/{image.pk}/delete/?project=cn-north-4")
    chinese = page_text(as_user("admin").get(f"/images/{image.pk}/?project=cn-north-4", **ZH))
    assert "被拒绝" in chinese and "没有任何授权允许 ims:images:delete" in chinese
    english = page_text(as_user("admin").get(f"/images/{image.pk}/?project=cn-north-4", **EN))
    assert "Denied in cn-north-4: no grant allows ims:images:delete (implicit deny)." in english


def test_a_no_escalation_refusal_reads_in_chinese_in_the_audit_log():
    admin_group = UserGroup.objects.get(name="admin")
    with pytest.raises(Refused) as refused:
        services.group_add_member(actor=user("iam-admin"), group=admin_group, user=user("viewer"))
    event = AuditEvent.objects.filter(outcome="denied").latest("pk")
    assert event.message == _in("en", lambda: refused.value.explanation.summary)
    with translation.override("zh-hans"):
        assert event.shown_message == str(refused.value.explanation.summary)
        assert re.search(r"[\u4e00-\u9fff]", event.shown_message)


def test_a_message_without_wording_is_shown_as_written(as_user):
    from accounts import audit

    audit.record(actor=user("admin"), action="iam:users:updateUser", target=user("newcomer"),
                 message="password changed")
    assert "password changed" in _audit(as_user, "iam:users:updateUser", ZH)


# --- access requests

def _ask(requester: str, action: str, where: str):
    return access_service.ask(actor=user(requester), action=action, project=project(where),
                              duration=timedelta(hours=8), justification="For the release")


def test_a_request_nobody_decided_reads_in_chinese_on_my_requests_and_in_the_mail(as_user):
    asked = _ask("viewer", "ims:images:delete", "cn-north-4")
    with translation.override("zh-hans"):  # the language a request's expiry runs in changes nothing stored
        access_service.expire_requests(now=asked.expires_at + timedelta(minutes=1))
    expired = AccessRequest.objects.get(pk=asked.pk)
    assert expired.decision_reason == "Nobody decided it in time."
    chinese = page_text(as_user("viewer").get("/iam/access-requests/mine/", **ZH))
    assert _in("zh-hans", lambda: expired.shown_reason) in chinese and "Nobody decided" not in chinese
    assert re.search(r"[\u4e00-\u9fff]", _in("zh-hans", lambda: expired.shown_reason))
    assert "Nobody decided it in time." in page_text(as_user("viewer").get("/iam/access-requests/mine/", **EN))
    event = AuditEvent.objects.filter(action="iam:accessRequests:deny").latest("pk")
    assert event.message == "expired" and _in("zh-hans", lambda: event.shown_message) == "已过期"
    from accounts.access_requests import _requester_mail

    assert "无人及时作出决定。" in _in("zh-hans", lambda: _requester_mail(expired)[1])
    assert "Reason: Nobody decided it in time." in _in("en", lambda: _requester_mail(expired)[1])


def test_a_request_answered_at_once_reads_in_chinese_later_with_names_verbatim(as_user):
    asked = _ask("developer", "ims:images:list", "cn-north-4_dev")
    assert asked.status == AccessRequest.Status.ANSWERED
    stored = AccessRequest.objects.get(pk=asked.pk)
    assert stored.decision_reason == "You already hold ims:images:list on cn-north-4_dev: nothing to ask for."
    chinese = page_text(as_user("developer").get("/iam/access-requests/mine/", **ZH))
    assert "nothing to ask for" not in chinese
    shown = _in("zh-hans", lambda: stored.shown_reason)
    assert shown in chinese and "ims:images:list" in shown and "cn-north-4_dev" in shown
    english = page_text(as_user("developer").get("/iam/access-requests/mine/", **EN))
    assert "You already hold ims:images:list on cn-north-4_dev: nothing to ask for." in english


def test_a_deciders_own_words_stay_as_written(as_user):
    asked = _ask("viewer", "ims:images:delete", "cn-north-4")
    access_service.deny(actor=user("admin"), access_request=asked, reason="Not during the freeze")
    assert "Not during the freeze" in page_text(as_user("viewer").get("/iam/access-requests/mine/", **ZH))


# --- helpers

def _page_any(response) -> str:
    return re.sub(r"\s+", " ", unescape(response.content.decode()))


@pytest.fixture
def image_named():
    from images.models import Image

    return lambda name: Image.objects.get(name=name)


# --- what services write to the audit log, with the names in it verbatim

def test_services_messages_read_in_chinese_in_the_audit_log_with_names_verbatim(as_user):
    from api.services import api_token_create
    from federation import services as federation_services

    provider = federation_services.provider_create(
        actor=None, name="Corp", issuer="https://id.example.test", client_id="console", client_secret="s3cret")
    federation_services.provider_set_active(actor=user("admin"), provider=provider, active=False)
    token, _ = api_token_create(actor=user("admin"), name="deploy")
    services.user_set_password(actor=user("admin"), user=user("newcomer"), password="a-new-long-password-1")
    english = {"iam:identityProviders:update": "Disabled sign-in with Corp.",
               "apitoken:create": f"Created API token deploy ({token.prefix}…).",
               "iam:users:updateUser": "password changed"}
    chinese = {"iam:identityProviders:update": "已停用通过 Corp 登录。",
               "apitoken:create": f"已创建 API 令牌 deploy（{token.prefix}…）。",
               "iam:users:updateUser": "密码已更改"}
    for action, sentence in english.items():
        assert AuditEvent.objects.filter(action=action).latest("pk").message == sentence
        assert chinese[action] in _audit(as_user, action, ZH)
        assert sentence in _audit(as_user, action, EN)


def test_a_refusal_worded_as_a_message_reads_in_chinese_on_the_403_page():
    from django.core.exceptions import PermissionDenied
    from django.test import RequestFactory

    from accounts.policy.messages import Message, gettext_noop
    from imsperm import errors

    request = RequestFactory().get("/api-tokens/")
    request.user = user("viewer")
    refusal = PermissionDenied(Message(gettext_noop("You can revoke only your own API tokens.")))
    with translation.override("zh-hans"):
        assert "您只能撤销自己的 API 令牌。" in errors.permission_denied(request, refusal).content.decode()
    with translation.override("en"):
        assert "You can revoke only your own API tokens." in errors.permission_denied(request, refusal).content.decode()


def test_sudo_modes_window_and_its_audit_read_in_chinese(as_user):
    """The window was English inside the Chinese page ("超过 5 minutes"); the audit of a wrong password too."""
    browser = as_user("viewer")
    chinese = page_text(browser.get("/me/confirm/", **ZH))
    assert "5 分钟" in chinese and "5 minutes" not in chinese
    assert "5 minutes" in page_text(browser.get("/me/confirm/", **EN))
    browser.post("/me/confirm/", {"password": "not-the-password"}, **EN)
    event = AuditEvent.objects.filter(action="sudo:confirm", outcome="denied").latest("pk")
    assert event.message == "Confirming it was them was refused: the password was not right."
    with translation.override("zh-hans"):
        assert event.shown_message == "确认是本人被拒绝：密码不正确。"


def test_an_error_outcome_reads_in_chinese_in_the_audit_log(as_user):
    from accounts import audit

    audit.record(actor=user("admin"), action="ims:images:upload", outcome="error", message="x")
    page = as_user("admin").get("/iam/audit/", {"action": "ims:images:upload"}, **ZH).content.decode()
    assert '<span class="badge warn">错误</span>' in page
    page = as_user("admin").get("/iam/audit/", {"action": "ims:images:upload"}, **EN).content.decode()
    assert '<span class="badge warn">error</span>' in page


def test_django_admins_own_refusal_reads_in_chinese_in_the_audit_log():
    from django.contrib import admin as django_admin
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/accounts/usergroup/")
    request.user = user("viewer")
    django_admin.site._registry[UserGroup]._audit_denied(request, "delete")
    event = AuditEvent.objects.filter(outcome="denied").latest("pk")
    assert event.message == "Django admin refused to delete this object."
    assert event.target_repr == "Django admin: user group"
    with translation.override("zh-hans"):
        assert event.shown_message == "Django 管理后台拒绝了删除此对象。"


# --- a template sentence the template scanner missed (inside an {% if %} in an attribute)

def test_accept_again_says_why_it_is_disabled_in_chinese(as_user):
    from accounts.management.commands.seed_demo import demo_id
    from images.models import ImageMember

    rejected = demo_id("cn-north-4-dev-debian-data-01")
    ImageMember.objects.filter(image_id=rejected, project__name="cn-north-4").update(status="rejected")
    browser = as_user("viewer")
    english = browser.get("/images/?project=cn-north-4&tab=shared", **EN).content.decode()
    title = re.search(r'aria-disabled="true" title="([^"]*)" data-action="ims:images:share"', english)[1]
    chinese = browser.get("/images/?project=cn-north-4&tab=shared", **ZH).content.decode()
    shown = re.search(r'aria-disabled="true" title="([^"]*)" data-action="ims:images:share"', chinese)[1]
    assert re.search(r"[\u4e00-\u9fff]", shown) and "ims:images:share" in shown
    assert title == "You need ims:images:share in cn-north-4 to accept it."


def test_a_federated_sign_in_reads_in_chinese_clause_by_clause_in_the_audit_log():
    from types import SimpleNamespace

    from accounts import audit
    from federation.views import _signed_in_message

    outcome = SimpleNamespace(created=True, evaluation=SimpleNamespace(matched=True, matched_positions=[1, 3]),
                              added=["ops", "dev"], removed=["old"])
    message = _signed_in_message(SimpleNamespace(name="Corp"), outcome, {}, 1.0)
    assert message == ("Signed in with Corp (user created just in time); rules 1, 3 matched; added to ops, dev; "
                       "removed from old; its MFA (amr) trusted as the console's.")
    event = audit.record(actor=None, action="signin:federated", message=message)
    stored = AuditEvent.objects.get(pk=event.pk)
    with translation.override("zh-hans"):
        assert stored.shown_message == ("已通过 Corp 登录（用户已即时创建）；匹配了规则 1, 3；已加入 ops, dev；"
                                        "已移出 old；其 MFA（amr）被视为控制台的 MFA。")
    quiet = SimpleNamespace(created=False, evaluation=SimpleNamespace(matched=False, matched_positions=[]),
                            added=[], removed=[])
    assert _signed_in_message(SimpleNamespace(name="Corp"), quiet, {}, None) == "Signed in with Corp."


# --- an explicit deny whose grant ends: its end read in the reader's zone and language

def test_an_explicit_deny_with_an_end_reads_in_chinese_in_the_readers_zone(as_user, image_named):
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    from accounts.models import Grant, Policy

    developers = UserGroup.objects.get(grants__policy__name="DenyImageDeletion")
    end = authz.clock().replace(microsecond=0) + timedelta(days=3)
    services.grant_set_expires(actor=None, group=developers, policy=Policy.objects.get(name="DenyImageDeletion"),
                               expires=end)
    assert Grant.objects.get(group=developers, policy__name="DenyImageDeletion").expires == end
    image = image_named("cn-north-4-dev-centos-system-00")
    as_user("developer").post(f"/images/{image.pk}/delete/?project=cn-north-4_dev", **EN)
    event = AuditEvent.objects.filter(action="ims:images:delete", outcome="denied").latest("pk")
    decision = authz.decide(user("developer"), "ims:images:delete", project=project("cn-north-4_dev"), image=image)
    assert event.message == _in("en", lambda: decision.summary) and " until " in event.message
    chinese = _audit(as_user, "ims:images:delete", ZH)
    assert "有效至" in chinese and "until" not in chinese and "DenyImageDeletion" in chinese
    assert event.message in _audit(as_user, "ims:images:delete", EN)
    with timezone.override(ZoneInfo("Asia/Shanghai")), translation.override("zh-hans"):
        shown = event.shown_message
        assert f"有效至 {timezone.localtime(end):%Y-%m-%d %H:%M} GMT+08:00（3 天后）" in shown


# --- Django admin: a service's refusal of an operator working in Chinese is stored in English

def test_an_admin_refusal_of_a_chinese_operator_is_stored_in_english_with_its_wording(as_user):
    from django.urls import reverse

    from accounts.models import Project
    from tests.admin.conftest import form_data

    operator = as_user("admin")
    subproject = Project.objects.get(name="cn-north-4_dev")
    path = reverse("admin:accounts_project_change", args=[subproject.pk])
    data = form_data(operator.get(path, **ZH), "project", name="eu-west-101_dev")
    refused = _page_any(operator.post(path, data, **ZH))
    with translation.override("zh-hans"):
        chinese = translation.gettext("A subproject of %(code)s is named %(code)s_<name>.") % {"code": "cn-north-4"}
    assert chinese != "A subproject of cn-north-4 is named cn-north-4_<name>." and chinese in refused
    event = AuditEvent.objects.filter(action="iam:projects:updateProject", outcome="denied").latest("pk")
    assert event.message == "A subproject of cn-north-4 is named cn-north-4_<name>."
    with translation.override("zh-hans"):
        assert event.shown_message == chinese


# --- Django admin's page of one audit event

def test_django_admins_page_of_an_audit_event_shows_its_message_in_the_readers_language(as_user):
    from django.urls import reverse

    as_user("viewer").get("/iam/users/")
    event = AuditEvent.objects.filter(action="iam:users:listUsers", outcome="denied").latest("pk")
    path = reverse("admin:accounts_auditevent_change", args=[event.pk])
    chinese = page_text(as_user("admin").get(path, **ZH))
    assert chinese.count("被拒绝：没有任何授权允许 iam:users:listUsers（隐式拒绝）。") == 1
    assert "no grant allows" not in chinese
    english = page_text(as_user("admin").get(path, **EN))
    assert "Denied: no grant allows iam:users:listUsers (implicit deny)." in english


def test_the_who_can_names_refusal_reads_in_chinese_in_the_audit_log():
    from types import SimpleNamespace

    from django.core.exceptions import PermissionDenied

    from accounts.iam.who_can_views import _refuse_names

    request = SimpleNamespace(authorization=SimpleNamespace(allows=lambda action: False), user=user("viewer"),
                              method="GET", path="/iam/simulator/grid/")
    with translation.override("zh-hans"), pytest.raises(PermissionDenied) as refused:
        _refuse_names(request, None)
    event = AuditEvent.objects.filter(outcome="denied").latest("pk")
    assert event.message == ("Seeing what a group holds, and who holds what, needs what who-can needs: "
                             "iam:users:listUsers and iam:permissions:listPermissions.")
    from accounts.findings import localized

    with translation.override("zh-hans"):  # the 403 page reads the refusal it carries as the audit log does
        assert event.shown_message == localized(refused.value.args[0]) and "Seeing" not in event.shown_message
        assert "iam:users:listUsers" in event.shown_message


def test_a_lazy_refusal_of_a_chinese_operator_is_stored_in_english_with_its_wording():
    """A service's sentences carry their wording (a lazy template with parameters, a house Message made lazy):
    raised while a Chinese operator works, shown in Chinese, stored in English, read back in Chinese."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext_lazy

    from accounts import audit, wording
    from accounts.policy.messages import Message, gettext_noop

    with translation.override("zh-hans"):
        error = ValidationError({  # as a service raises it
            "name": ValidationError(gettext_lazy("The project %(name)s already exists."), params={"name": "Ops"}),
            "code": ValidationError(wording.lazy(Message(gettext_noop("The end must be in the future."))))})
        stored = wording.worded(error)  # as the admin audits it, after the service
        chinese = " ".join(error.messages)
    assert stored == "The project Ops already exists. The end must be in the future."
    event = AuditEvent.objects.get(pk=audit.record(actor=None, action="iam:projects:createProject",
                                                   outcome="denied", message=stored).pk)
    with translation.override("zh-hans"):
        assert event.shown_message == chinese and "Ops" in chinese and "exists" not in chinese
