"""Issue 24, the console's own pages: the action catalogue's human words (labels and descriptions on My
permissions, the effective-permissions grid, the visual editor, the simulator's and the access request's
action lists) and the sign-in page's demo logins read in Simplified Chinese. Action names, persona, group
and policy names stay verbatim; English reads exactly as before; the catalogue and the API stay English."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext

from accounts.management.commands.seed_demo import DEMO_LOGINS
from accounts.models import User
from accounts.policy import ACTIONS, IAM_ACTIONS, IMS_ACTIONS, get_action
from accounts.views import COMMON_OPERATIONS
from api import services as api_services
from tests.i18n.reading import EN, ZH

pytestmark = pytest.mark.usefixtures("demo")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _page(response) -> str:
    assert response.status_code == 200, response.status_code
    return unescape(response.content.decode())


def _zh(text: str) -> str:
    with translation.override("zh-hans"):
        return gettext(text)


def _row(label: str, names: str) -> str:
    """A grid row's header on My permissions: the label, then the action names in code."""
    return f'<th scope="row">{label}<br><small class="muted"><code>{names}</code></small></th>'


def test_every_catalogued_label_and_description_has_a_chinese_translation():
    missing = [text for action in ACTIONS for text in (action.label, action.description)
               if not CJK.search(_zh(text))]
    assert missing == []


def test_the_catalogue_itself_stays_english_whatever_the_language():
    with translation.override("zh-hans"):
        action = get_action("ims:images:delete")
        assert (action.label, action.description) == ("Delete images", "Delete images")
        assert get_action("iam:users:listUsers").label == "List users"


def test_my_permissions_reads_in_chinese_with_the_action_names_verbatim(as_user):
    page = _page(as_user("viewer").get("/me/permissions/", **ZH))
    common = {name for _, names in COMMON_OPERATIONS for name in names}
    for label, names in COMMON_OPERATIONS:
        assert _row(_zh(label), ", ".join(names)) in page
        assert _row(label, ", ".join(names)) not in page
    for action in [a for a in IMS_ACTIONS if a.name not in common] + list(IAM_ACTIONS):
        assert _row(_zh(action.label), action.name) in page, action.name
        assert _row(action.label, action.name) not in page, action.name
    assert _row("查询镜像", "ims:images:list, ims:images:get") in page
    assert _row("导出镜像", "ims:images:export") in page
    assert _row("列出用户", "iam:users:listUsers") in page
    for section in ("用户", "用户组", "策略", "授权", "项目", "审计日志", "身份提供商", "访问申请"):
        assert f'<th scope="rowgroup" colspan="2">{section}</th>' in page


def test_my_permissions_in_english_is_unchanged(as_user):
    page = _page(as_user("viewer").get("/me/permissions/", **EN))
    assert _row("Querying images", "ims:images:list, ims:images:get") in page
    assert _row("Export images", "ims:images:export") in page
    assert _row("List users", "iam:users:listUsers") in page
    assert '<th scope="rowgroup" colspan="2">User groups</th>' in page
    assert "列出用户" not in page and "查询镜像" not in page


def test_the_effective_grid_reads_in_chinese_and_the_same_english(as_user):
    admin = as_user("admin")
    chinese = _page(admin.get("/iam/simulator/effective/?user=developer", **ZH))
    assert '<th scope="row">删除镜像<br><small class="muted"><code>ims:images:delete</code>' in chinese
    assert "Delete images" not in chinese
    english = _page(admin.get("/iam/simulator/effective/?user=developer", **EN))
    assert '<th scope="row">Delete images<br><small class="muted"><code>ims:images:delete</code>' in english


def test_the_visual_editor_lists_actions_and_services_in_chinese(as_user):
    admin = as_user("admin")
    chinese = _page(admin.get("/iam/policies/new/", **ZH))
    share = get_action("ims:images:share")
    assert f'<label title="{_zh(share.description)}">' in chinese
    assert re.search(r'data-action="ims:images:share"[^>]*> 共享镜像 <code>share</code>', chinese)
    assert "IMS（镜像管理服务）" in chinese
    assert "Share images" not in chinese and share.description not in chinese
    english = _page(admin.get("/iam/policies/new/", **EN))
    assert f'<label title="{share.description}">' in english
    assert re.search(r'data-action="ims:images:share"[^>]*> Share images <code>share</code>', english)
    assert "IMS (Image Management Service)" in english


def test_the_simulator_and_the_access_request_list_actions_with_chinese_labels(as_user):
    chinese = _page(as_user("admin").get("/iam/simulator/", **ZH))
    assert re.search(r"<code>ims:images:export</code> <span class=\"muted\">导出镜像</span>", chinese)
    asking = _page(as_user("viewer").get("/iam/access-requests/new/", **ZH))
    assert "ims:images:delete — 删除镜像" in asking
    assert "ims:images:delete — Delete images" in _page(as_user("viewer").get("/iam/access-requests/new/", **EN))


def test_the_demo_logins_read_in_chinese_with_names_verbatim(settings):
    settings.IMSPERM_DEMO_LOGINS = True
    chinese = _page(Client().get("/accounts/login/", **ZH))
    assert "<code>ims-admin</code></th><td>镜像管理员（IMS FullAccess，所有项目）</td>" in chinese
    assert "开发者（cn-north-4_dev 中的 IMS FullAccess + DenyImageDeletion）" in chinese
    for _, who, can in DEMO_LOGINS:
        assert who not in chinese and can not in chinese
        assert CJK.search(_zh(who)) and CJK.search(_zh(can))
    english = _page(Client().get("/accounts/login/", **EN))
    assert ("<code>developer</code></th><td>developer (IMS FullAccess + DenyImageDeletion in cn-north-4_dev)</td>"
            "<td>everything but Delete, in cn-north-4_dev only</td>") in english


def test_the_decision_api_answers_in_english_whatever_the_language():
    _, secret = api_services.api_token_create(actor=User.objects.get(username="viewer"), name="zh-check")
    body = {"requests": [{"action": "ims:images:delete", "project": "cn-north-4"},
                         {"action": "ims:images:list", "project": "cn-north-4"}]}
    response = Client().post("/api/v1/authorize", data=json.dumps(body), content_type="application/json",
                             headers={"Authorization": f"Bearer {secret}"}, **ZH)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert [r["decision"] for r in answer["results"]] == ["implicit_deny", "allow"]
    assert answer["results"][0]["explanation"].startswith("Denied")
    assert not CJK.search(json.dumps(answer, ensure_ascii=False))
