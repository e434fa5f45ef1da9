"""Issue 24: what Python says to people reads in Simplified Chinese too — the engine's decisions and
refusals, the policy validator's findings — while the names in them (policies, groups, projects,
actions, JSON paths and keys) stay verbatim, the audit log and the API stay English, and English
pages say exactly what they said before."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.utils import translation

from accounts import authz
from accounts.findings import localized
from accounts.models import AuditEvent, Project, User
from accounts.policy import validate_text
from tests.i18n.reading import ZH

pytestmark = pytest.mark.usefixtures("demo")
CHINESE = re.compile(r"[\u4e00-\u9fff]")
HTMX = {"HX-Request": "true"}
# A statement with a misspelt key ("Acton") and an action the catalogue lacks.
BROKEN = ('{\n  "Version": "1.1",\n  "Statement": [\n    {\n      "Effect": "Allow",\n'
          '      "Acton": ["ims:images:list"]\n    },\n    {\n      "Effect": "Allow",\n'
          '      "Action": ["ims:images:lst"]\n    }\n  ]\n}')


def _page(response) -> str:
    return unescape(response.content.decode())


def _developer_delete_in_dev():
    return authz.decide(User.objects.get(username="developer"), "ims:images:delete",
                        project=Project.objects.get(name="cn-north-4_dev"))


def test_an_explicit_deny_reads_in_chinese_with_its_names_verbatim_and_english_unchanged():
    explanation = _developer_delete_in_dev()
    assert explanation.outcome == "explicit_deny"
    reason = explanation.reasons[0]
    with translation.override("zh-hans"):
        chinese = explanation.summary
    with translation.override("en"):
        english = explanation.summary
    assert chinese == (f"在 cn-north-4_dev 中被显式拒绝：由 {reason.policy_name} 的语句 {reason.statement_index + 1} "
                       f"拒绝，授权给用户组 {reason.group_name}，范围：cn-north-4_dev")
    # The same cached explanation, read in English afterwards, is today's English.
    assert english == (f"Denied in cn-north-4_dev explicitly: Deny in {reason.policy_name} Statement "
                       f"{reason.statement_index + 1}, granted to group {reason.group_name} on cn-north-4_dev")


def test_an_allow_on_all_resources_and_the_admin_group_read_in_chinese():
    viewer = authz.decide(User.objects.get(username="viewer"), "ims:images:list",
                          project=Project.objects.get(name="cn-north-4"))
    admin = authz.decide(User.objects.get(username="admin"), "ims:images:delete")
    with translation.override("zh-hans"):
        assert viewer.summary.startswith("在 cn-north-4 中允许：由 ")
        assert "范围：所有资源" in viewer.summary and viewer.reasons[0].policy_name in viewer.summary
        assert admin.summary == "允许：admin 用户组成员（允许所有操作）"
    with translation.override("en"):
        assert admin.summary == "Allowed: member of the admin group (allowed everything)"


def test_my_permissions_in_chinese_explains_the_deny(as_user):
    reason = _developer_delete_in_dev().reasons[0]
    page = _page(as_user("developer").get("/me/permissions/", **ZH))
    assert f"被显式拒绝：由 {reason.policy_name} 的语句 1 拒绝，授权给用户组 {reason.group_name}" in page
    assert "explicitly" not in page


def test_the_403_page_in_chinese_names_the_action_still_offers_the_request_and_the_audit_stays_english(as_user):
    response = as_user("viewer").get("/iam/users/", **ZH)
    assert response.status_code == 403
    page = _page(response)
    assert "被拒绝：没有任何授权允许 iam:users:listUsers（隐式拒绝）。" in page
    assert "no grant allows" not in page
    # The pre-filled "Request access" link reads the Chinese sentence as well as the English one.
    assert 'href="/iam/access-requests/new/?action=iam%3Ausers%3AlistUsers"' in page
    event = AuditEvent.objects.filter(outcome=AuditEvent.Outcome.DENIED, action="iam:users:listUsers").latest("pk")
    assert event.message == "Denied: no grant allows iam:users:listUsers (implicit deny)."


def test_a_chinese_refusal_of_an_image_offers_the_request_pre_filled(as_user):
    from accounts.management.commands.seed_demo import demo_id

    image = demo_id("cn-north-4-ubuntu-system-00")
    page = _page(as_user("viewer").post(f"/images/{image}/delete/?project=cn-north-4", **ZH))
    assert "被拒绝" in page and "ims:images:delete" in page
    assert 'href="/iam/access-requests/new/?action=ims%3Aimages%3Adelete&project=cn-north-4"' in page


def test_the_decision_api_json_stays_english_in_a_chinese_request():
    from accounts.decisions import authorization_without_request, decision_json

    authorization = authorization_without_request(User.objects.get(username="developer"))
    with translation.override("zh-hans"):
        body = decision_json(authorization, "ims:images:delete", project=Project.objects.get(name="cn-north-4_dev"))
    assert body["explanation"].startswith("Denied in cn-north-4_dev explicitly: Deny in ")
    assert body["matched"][0]["scope"] == "cn-north-4_dev"


def test_the_policy_editor_shows_chinese_findings_with_paths_and_keys_verbatim(as_user):
    response = as_user("iam-admin").post("/iam/policies/validate/", {"mode": "json", "document": BROKEN},
                                         headers=HTMX, **ZH)
    page = _page(response)
    assert response.status_code == 200
    assert 'data-path="Statement[0].Acton"' in page
    assert ('语句中有未知的键 "Acton"；语句只能包含 "Effect"、"Action" 和 "Condition"') in page
    assert 'data-path="Statement[1].Action[0]"' in page
    assert '操作 "ims:images:lst" 不匹配任何 IMS 操作；您是不是要写 "ims:images:list"？' in page
    assert "3 个错误" in page  # the tier's count too ("needs an Action list", the key, the action)
    assert "Unknown key" not in page and "did you mean" not in page


def test_a_broken_policy_saved_in_chinese_is_refused_with_chinese_findings(as_user):
    response = as_user("iam-admin").post("/iam/policies/new/", {"name": "Broken", "mode": "json", "document": BROKEN},
                                         **ZH)
    page = _page(response)
    assert response.status_code == 422
    assert '语句中有未知的键 "Acton"' in page


def test_english_findings_are_unchanged_and_carry_their_template():
    result = validate_text(BROKEN)
    messages = {finding.path: finding.message for finding in result.findings}
    assert messages["Statement[0].Acton"] == ('Unknown key "Acton" in a statement; a statement may only have '
                                              '"Effect", "Action" and "Condition"')
    assert messages["Statement[1].Action[0]"] == 'Action "ims:images:lst" matches no IMS action; did you mean ' \
                                                 '"ims:images:list"?'
    assert messages["Statement[0]"] == 'The statement needs an "Action" list'
    with translation.override("en"):
        assert [localized(finding.message) for finding in result.findings] == [f.message for f in result.findings]
    with translation.override("zh-hans"):
        assert localized(messages["Statement[0]"]) == '语句需要一个 "Action" 列表'


@pytest.mark.parametrize("text", [
    '{"Version": "1.1", "Statement": [{"Effect": "allow", "Action": ["ims:images:list"]}]}',
    '{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"], '
    '"Condition": {"StringEqual": {"g:UserName": ["a"]}}}]}',
    '{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"], '
    '"Condition": {"IpAddress": {"g:SourceIp": ["not-an-ip"]}}}]}',
    '{"Version": "1.0", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]}',
    '{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list", "ims:images:list"]}]}',
])
def test_every_finding_of_a_few_documents_reads_in_chinese(text):
    findings = validate_text(text).findings
    assert findings
    with translation.override("zh-hans"):
        for finding in findings:
            shown = localized(finding.message)
            assert CHINESE.search(shown), shown
            for quoted in re.findall(r'"[^"]*"', finding.message):
                assert quoted in shown, (quoted, shown)  # keys and values quoted from the document, verbatim


def test_the_permission_grid_and_impact_labels_read_in_chinese(as_user):
    from django.template.loader import render_to_string

    from accounts.who_can import Change

    page = _page(as_user("developer").get("/me/permissions/", **ZH))
    assert "✘ 显式拒绝" in page and "– 未授予" in page and "Not granted" not in page
    change = Change("ims:images:delete", "Allowed (with conditions)", "Not granted", ("cn-north-4",))
    with translation.override("zh-hans"):
        shown = unescape(render_to_string("iam/policies/_change.html", {"change": change, "impact": None}))
    assert "允许（有条件） → 未授予" in shown and "ims:images:delete" in shown
    assert change.lost  # the labels stay English data: gained/lost still read them


def test_the_editor_says_in_chinese_why_json_stays_json(as_user):
    client = as_user("iam-admin")
    broken = _page(client.post("/iam/policies/editor/", {"mode": "json", "document": '{"Version": ', "to": "visual"},
                               headers=HTMX, **ZH))
    assert "JSON 尚不有效（第 1 行" in broken and "此处应为一个值" in broken
    wide = ('{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:get"], '
            '"Resource": ["*"]}]}')
    kept = _page(client.post("/iam/policies/editor/", {"mode": "json", "document": wide, "to": "visual"},
                             headers=HTMX, **ZH))
    assert "此策略保留为 JSON，因为Statement[0] 包含 Resource，而可视化编辑器没有对应的字段。" in kept


def test_a_disabled_identity_provider_refuses_in_chinese_and_audits_in_english(client):
    from federation import services as federation

    provider = federation.provider_create(actor=None, name="Corp", issuer="https://idp.example", client_id="console",
                                          client_secret="s3cret-s3cret", scopes="openid email")
    federation.provider_set_active(actor=None, provider=provider, active=False)
    response = client.get(f"/accounts/oidc/{provider.pk}/login/", **ZH)
    assert response.status_code == 403
    assert "登录被拒绝：已禁用通过 Corp 登录。" in _page(response)
    assert AuditEvent.objects.filter(action="federation:signIn", outcome="denied",
                                     message="Sign-in refused: sign-in with Corp is disabled.").exists()


def test_a_provider_error_reads_in_chinese_with_the_claim_verbatim():
    from federation import oidc

    class MissingClaimError(Exception):
        claim = "email_verified"

    reason = oidc.describe_error(MissingClaimError())
    assert reason == "the ID token has no email_verified claim"
    with translation.override("zh-hans"):
        assert localized(reason) == "ID 令牌缺少 email_verified 声明"


def test_an_upload_rejection_reads_in_chinese_and_stays_english_for_the_audit():
    import io

    from images import uploads

    with pytest.raises(uploads.FileRejected) as rejected:
        uploads.detect_format(io.BytesIO(b"x" * 1000), 1000, "raw")
    assert str(rejected.value) == ("A RAW disk is made of whole 512-byte sectors; this file has 1000 bytes "
                                   "(488 too many or missing).")
    with translation.override("zh-hans"):
        assert localized(rejected.value.message) == ("RAW 磁盘由完整的 512 字节扇区组成；此文件有 1000 字节"
                                                     "（多出或缺少 488 字节）。")


def test_an_iam_configuration_file_with_errors_is_explained_in_chinese(as_user):
    import json

    from accounts import iac

    data = json.loads(iac.export_text())
    viewers = next(index for index, group in enumerate(data["groups"]) if group["name"] == "viewers")
    data["groups"][viewers]["members"].append("nobody-such")
    response = as_user("admin").post("/iam/config/", {"document": json.dumps(data, indent=2)}, **ZH)
    page = _page(response)
    members = len(data["groups"][viewers]["members"]) - 1
    assert f"$.groups[{viewers}].members[{members}]" in page
    assert "users 中没有名为 'nobody-such' 的用户。" in page and "No user named" not in page
    with translation.override("en"):  # the CLI and the audit log read the same error in English
        errors = iac.build_plan(iac.parse_text(json.dumps(data)), prune=False).errors
    assert (f"$.groups[{viewers}].members[{members}]", "No user named 'nobody-such' in users.") in errors


def test_a_grant_on_all_resources_reads_in_chinese_where_grants_are_listed(as_user):
    page = _page(as_user("viewer").get("/me/permissions/", **ZH))
    rows = re.findall(r"<tr><td>[^<]*</td><td>[^<]*</td><td>[^<]*</td><td>([^<]*)", page)
    assert "所有资源" in rows and "All resources" not in page


def test_adding_a_member_is_confirmed_in_chinese(as_user):
    from accounts.models import UserGroup

    group = UserGroup.objects.get(name="viewers")
    newcomer = User.objects.get(username="newcomer")
    response = as_user("admin").post(f"/iam/groups/{group.pk}/members/add/", {"user": newcomer.pk}, follow=True, **ZH)
    assert "已将 newcomer 加入 viewers。" in _page(response)


def test_a_no_escalation_refusal_reads_in_chinese_and_is_audited_in_english(as_user):
    from accounts.models import UserGroup

    viewers = UserGroup.objects.get(name="viewers")  # holds image permissions iam-admin does not hold
    newcomer = User.objects.get(username="newcomer")
    response = as_user("iam-admin").post(f"/iam/groups/{viewers.pk}/members/add/", {"user": newcomer.pk},
                                         follow=True, **ZH)
    page = _page(response)
    assert "向 viewers 添加成员会移交您自己并不拥有的权限：" in page and "所有资源 上的 ims:images:" in page
    assert "would hand over" not in page
    event = AuditEvent.objects.filter(outcome=AuditEvent.Outcome.DENIED,
                                      action="iam:groups:addUserToGroup").latest("pk")
    assert event.message.startswith("Refused: Adding members to viewers would hand over permissions you do not hold "
                                    "yourself: ims:images:")
