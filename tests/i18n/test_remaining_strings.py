"""Issue 24, the last English-only sentences: Django admin's own messages to operators, the import's
refusal of a kind of change (with its count in the language's plural form), the JSON scanner's words
(the offending character verbatim), federation's "Rule N", the end of an approved grant in the person's
zone and words, and the rest of what Python said in English only. Names, actions, paths and quoted
characters stay verbatim, and English reads exactly as before."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape
from types import SimpleNamespace

import pytest
from django.utils import translation

from accounts import services
from accounts.findings import localized
from accounts.iac import limits
from accounts.iac.document import DocumentError, parse_text
from accounts.models import Policy, UserGroup
from accounts.policy import locate
from accounts.services import access_requests as access_service
from federation import rules as rule_engine
from federation import services as federation_services
from federation.models import MappingRule
from tests.demo_rows import policy, project, user
from tests.i18n.reading import EN, ZH

pytestmark = pytest.mark.usefixtures("demo")


def _page(response) -> str:
    return unescape(response.content.decode())


def _in(language: str, message) -> str:
    with translation.override(language):
        return localized(message)


# --- 1. Django admin's own messages to operators

def test_the_admin_refuses_an_unknown_action_in_chinese_and_in_the_same_english(as_user):
    operator = as_user("admin")
    posted = {"action": "frobnicate", "_selected_action": [str(user("viewer").pk)]}
    chinese = _page(operator.post("/admin/accounts/user/", posted, follow=True, **ZH))
    assert "您不能对用户运行“frobnicate”：未做任何更改。" in chinese
    english = _page(operator.post("/admin/accounts/user/", posted, follow=True, **EN))
    assert "You may not run “frobnicate” on users: nothing was changed." in english


def test_the_admin_names_itself_and_turns_non_operators_away_in_chinese(as_user):
    assert "imsperm 运维人员" in _page(as_user("admin").get("/admin/", **ZH))
    refused = _page(as_user("viewer").get("/admin/", **ZH))
    assert "Django 管理后台仅供运维人员（员工账号）使用。" in refused
    assert "Django admin is for operators (staff accounts)." in _page(as_user("viewer").get("/admin/", **EN))


def _bulk_delete(queryset, language: str) -> list[str]:
    """The admin's bulk delete, confirmed, as the operator: the messages it leaves."""
    from django.contrib import admin as django_admin
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.test import RequestFactory

    from accounts.admin import delete_selected

    request = RequestFactory().post("/admin/accounts/usergroup/", {"post": "yes"})
    request.user = user("admin")
    request._messages = CookieStorage(request)
    with translation.override(language):
        delete_selected(django_admin.site._registry[UserGroup], request, queryset)
    return [str(message.message) for message in request._messages._queued_messages]


def test_a_bulk_delete_reports_in_chinese_and_in_the_same_english():
    assert _bulk_delete(UserGroup.objects.none(), "zh-hans") == ["未选择任何内容。"]
    assert _bulk_delete(UserGroup.objects.none(), "en") == ["Nothing was selected."]
    services.group_create(actor=None, name="doomed-1", description="")
    services.group_create(actor=None, name="doomed-2", description="")
    assert _bulk_delete(UserGroup.objects.filter(name="doomed-1"), "zh-hans") == ["已删除 1 个用户组。"]
    assert _bulk_delete(UserGroup.objects.filter(name="doomed-2"), "en") == ["Deleted 1 user group."]


# --- 2. The import's refusal of a kind of change, counted

def _refusal(count: int):
    change = SimpleNamespace(kind="create", section="User groups", subject="group ops")
    return limits._kind_refusal(change, count, ["iam:groups:createGroup"])


@pytest.mark.parametrize(("count", "english_tail"), [
    (1, "which your permissions do not allow."),
    (2, "which your permissions do not allow (and 1 more change of this kind)."),
    (1_202, "which your permissions do not allow (and 1,201 more changes of this kind)."),
])
def test_a_kind_of_change_refused_reads_in_english_as_before_and_in_chinese_with_its_count(count, english_tail):
    message = _refusal(count)
    assert message == f"Refused: create in user groups (group ops) needs iam:groups:createGroup, {english_tail}"
    assert _in("en", message) == message
    chinese = _in("zh-hans", message)
    assert chinese.startswith("已拒绝：在用户组中创建（group ops）需要 iam:groups:createGroup，而您的权限不允许")
    if count > 1:
        assert chinese.endswith(f"（此类更改另有 {count - 1:,} 项）。")


def test_a_counted_message_survives_a_copy_with_its_plural():
    import pickle

    copied = pickle.loads(pickle.dumps(_refusal(3)))
    assert copied == _refusal(3) and _in("zh-hans", copied).endswith("（此类更改另有 2 项）。")


# --- 3. The JSON scanner's words, the offending character verbatim

def test_the_python_scanner_names_the_character_and_chinese_keeps_it(monkeypatch):
    from json.decoder import py_scanstring

    monkeypatch.setattr(locate, "scanstring", py_scanstring)  # where the C scanner is missing
    with pytest.raises(locate.LocateError) as escape:
        locate.parse('{"a": "x\\qy"}')
    assert escape.value.message == "Invalid \\escape: 'q'"
    assert _in("zh-hans", escape.value.message) == "无效的 \\ 转义：'q'"
    with pytest.raises(locate.LocateError) as control:
        locate.parse('{"a": "x\ty"}')
    assert control.value.message == "Invalid control character '\\t'"
    assert _in("zh-hans", control.value.message) == "无效的控制字符 '\\t'"


def test_the_import_says_where_the_json_breaks_in_chinese():
    with pytest.raises(DocumentError) as broken:
        parse_text('{"users" []}')
    path, message = broken.value.errors[0]
    assert path == "$" and message == "not usable JSON: Expecting ':' delimiter (line 1, column 10)"
    assert _in("zh-hans", message) == "不可用的 JSON：此处应为 ':' 分隔符（第 1 行，第 10 列）"


# --- 4. Federation: "Rule N" and what a rule found

def test_a_mapping_refusal_names_the_rule_in_chinese_and_the_same_english():
    refusal = federation_services.mapping_refusal(user("viewer"), [("rule 2", UserGroup.objects.get(name="admin"))])
    assert refusal.startswith("Rule 2 maps into admin: ")
    assert _in("zh-hans", refusal).startswith("规则 2 映射到 admin：")


def test_the_rule_preview_explains_a_match_in_chinese_with_the_claim_verbatim():
    rule = MappingRule(claim="department", operator=MappingRule.Operator.ONE_OF, value="ops, sre")
    matched, reason = rule_engine.match(rule, {"department": "sre"})
    assert matched and reason == "department is sre, one of the values"
    assert _in("zh-hans", reason) == "department 为 sre，属于所列值之一"
    assert _in("zh-hans", rule_engine.match(rule, {})[1]) == "缺少声明 department"


# --- 5. An approved grant's end in the person's zone and words

def test_approving_in_chinese_says_until_when_in_the_persons_words(as_user):
    asker = services.group_create(actor=None, name="askers-i18n", description="")
    services.grant_attach(actor=None, group=asker, policies=[policy("IAM AccessRequestSelfService")],
                          all_resources=True)
    services.group_add_member(actor=None, group=asker, user=user("viewer"))
    asked = access_service.ask(actor=user("viewer"), action="ims:images:delete", project=project("cn-north-4"),
                               duration=timedelta(hours=8), justification="clean up")
    response = as_user("admin").post(f"/iam/access-requests/{asked.pk}/approve/", {"duration": "1h", "note": ""},
                                     follow=True, **ZH)
    page = _page(response)
    # An end on another day shows its date too: approved after 23:00, the hour ends tomorrow.
    said = (r"已批准：viewer 通过用户组 \S+ 在 cn-north-4 上拥有 ims:images:delete，"
            r"有效至 (\d{4}-\d\d-\d\d )?\d\d:\d\d \S+（1 小时后）。")
    assert re.search(said, page), page
    assert " UTC, through" not in page and "until" not in page


# --- 6. The rest of what Python said in English only

def test_asking_for_what_one_holds_is_answered_in_chinese_and_stored_in_english(as_user):
    response = as_user("admin").post("/iam/access-requests/new/", {
        "what": "action:ims:images:list", "project": "cn-north-4", "duration": "1h",
        "justification": "just to see"}, follow=True, **ZH)
    asked = access_service.AccessRequest.objects.filter(requester=user("admin")).latest("pk")
    assert asked.status == access_service.Status.ANSWERED
    assert asked.decision_reason == "You already hold ims:images:list on cn-north-4: nothing to ask for."
    assert "您已在 cn-north-4 上拥有 ims:images:list：无需申请。" in _page(response)


def test_a_system_policy_refused_and_a_lockout_read_in_chinese(as_user, settings):
    system = Policy.objects.filter(is_system=True).order_by("name").first()
    page = _page(as_user("admin").get(f"/iam/policies/{system.pk}/edit/", **ZH))
    assert f"{system.name} 是系统定义的策略：不能编辑。克隆它以创建一个您可以更改的自定义策略。" in page
    assert f"返回 {system.name}" in page
    history = _page(as_user("admin").get(f"/iam/policies/{system.pk}/history/", **ZH))
    assert f"{system.name} 是系统定义的策略：不能编辑，因此没有历史记录。" in history
    english = _page(as_user("admin").get(f"/iam/policies/{system.pk}/history/", **EN))
    assert f"{system.name} is system-defined: it cannot be edited, so it has no history. Clone it" in english
    from accounts.signin import lockout_message

    settings.AXES_COOLOFF_TIME = timedelta(minutes=1)
    with translation.override("en"):
        assert lockout_message() == "Too many failed sign-in attempts. Try again in 1 minute."
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    with translation.override("zh-hans"):
        assert lockout_message() == "登录失败次数过多。请在 15 分钟后重试。"
    with translation.override("en"):
        assert lockout_message() == "Too many failed sign-in attempts. Try again in 15 minutes."


def test_attaching_says_what_was_attached_in_chinese_with_the_names_verbatim():
    group = services.group_create(actor=None, name="attach-i18n", description="")
    result = services.grant_attach(actor=None, group=group, policies=[policy("IMS ReadOnlyAccess")],
                                   all_resources=True)
    with translation.override("zh-hans"):
        assert result.message.startswith("已在 所有资源 上关联 IMS ReadOnlyAccess。")
    with translation.override("en"):
        assert result.message.startswith("Attached IMS ReadOnlyAccess on All resources.")


def test_the_json_refusals_of_other_places_read_in_chinese():
    with pytest.raises(locate.UnusableJSON) as error:
        locate.loads(json.dumps({"a": 1}).encode() + b"\xff")
    (_, message), = error.value.problems
    assert message == "The text is not UTF-8 (byte 9)"
    assert _in("zh-hans", message) == "该文本不是 UTF-8 编码（第 9 个字节）"


def test_the_models_own_checks_read_in_chinese_and_in_the_same_english():
    from django.core.exceptions import ValidationError

    from accounts.models import Region
    from federation.models import CLAIM_VALIDATOR

    for language, expected in (("zh-hans", "请使用类似 cn-north-4 的区域 ID。"),
                               ("en", "Use a region id like cn-north-4.")):
        with translation.override(language):  # read while the language is active, as a page does
            with pytest.raises(ValidationError) as refused:
                Region(code="North", name="North").full_clean()
            assert refused.value.message_dict["code"] == [expected]
    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as claim:
            CLAIM_VALIDATOR("a claim")
        assert claim.value.messages == ["声明名称：仅限字母、数字和 _ . : / -。"]


def test_a_bad_window_of_the_unused_permissions_report_reads_in_chinese(as_user):
    chinese = as_user("iam-admin").get("/iam/unused/?days=abc", **ZH)
    assert chinese.status_code == 400 and "天数必须是 1 到 3650 之间的整数；现显示 90 天。" in _page(chinese)
    english = as_user("iam-admin").get("/iam/unused/?days=abc", **EN)
    assert "Days must be a whole number from 1 to 3650; showing 90." in _page(english)
