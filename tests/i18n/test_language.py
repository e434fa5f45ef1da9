"""The console in Simplified Chinese: chosen from the browser's Accept-Language, or the person's saved
choice (which wins, and comes back at every sign-in), switched in the top bar; English unchanged; and
the translation check (scripts/check-translations) failing on an untranslated or fuzzy message."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.template import engines
from django.utils import translation

from accounts.models import AuditEvent, User
from accounts.services import access_requests as requests
from preferences import services
from preferences.models import UserPreference

from ..access_requests.conftest import T0, ask_delete, frozen

pytestmark = pytest.mark.usefixtures("demo")
ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
IMAGES = "/images/?project=cn-north-4"


def text(response) -> str:
    return response.content.decode()


def test_the_sign_in_page_follows_accept_language(client):
    chinese = text(client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.5"))
    assert '<html lang="zh-hans"' in chinese
    assert "使用您的 IAM 用户名和密码登录。" in chinese
    assert "Sign in with your IAM user name and password." not in chinese
    english = text(client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9"))
    assert '<html lang="en"' in english
    assert "Sign in with your IAM user name and password." in english
    assert not CHINESE.search(english.replace("简体中文", ""))  # only the switch names Chinese, in Chinese


def test_the_image_list_its_tabs_columns_and_menu_in_chinese(as_user):
    page = text(as_user("admin").get(IMAGES, HTTP_ACCEPT_LANGUAGE="zh-Hans"))
    assert "<h1>镜像</h1>" in page
    for shown in ("私有镜像", "公共镜像", "共享给我的", "等待接受",  # tabs
                  "名称", "状态", "磁盘格式", "创建时间",  # sortable columns
                  "用户组", "审计日志", "偏好设置",  # the side menu
                  "按名称搜索", "应用"):  # the filter form
        assert shown in page, shown
    assert "Private images" not in page and "Audit log" not in page
    assert 'data-action="ims:images:list"' in page or "ims:images:" in page  # action names stay API


def test_english_pages_carry_no_chinese_but_the_switch(as_user):
    browser = as_user("admin")
    for url in (IMAGES, "/iam/users/", "/iam/audit/", "/me/preferences/", "/me/permissions/"):
        page = text(browser.get(url, HTTP_ACCEPT_LANGUAGE="en-US"))
        assert not CHINESE.search(page.replace("简体中文", "")), url


def test_a_saved_language_wins_over_the_browser_and_comes_back_at_sign_in(client):
    services.update_preferences(actor=User.objects.get(username="viewer"), language="zh-hans")
    client.post("/accounts/login/", {"username": "viewer", "password": "imsperm-demo"},
                HTTP_ACCEPT_LANGUAGE="en-US")
    page = text(client.get("/me/permissions/", HTTP_ACCEPT_LANGUAGE="en-US"))
    assert '<html lang="zh-hans"' in page and "我的权限" in page


def test_the_top_bar_switch_saves_the_choice_audits_it_and_keeps_it_at_the_next_sign_in(client):
    client.post("/accounts/login/", {"username": "viewer", "password": "imsperm-demo"})
    first = text(client.get("/me/permissions/", HTTP_ACCEPT_LANGUAGE="en-US"))
    assert 'data-testid="language-switch"' in first and 'value="zh-hans"' in first
    response = client.post("/me/preferences/language/", {"language": "zh-hans", "next": "/me/permissions/"})
    assert response.status_code == 302 and response["Location"] == "/me/permissions/"
    assert UserPreference.objects.get(user__username="viewer").language == "zh-hans"
    event = AuditEvent.objects.filter(action="preferences:update", actor__username="viewer").first()
    assert event.details["after"] == {"language": "zh-hans"}
    assert "我的权限" in text(client.get("/me/permissions/", HTTP_ACCEPT_LANGUAGE="en-US"))
    client.post("/accounts/logout/")
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)  # another browser: only the saved choice
    client.post("/accounts/login/", {"username": "viewer", "password": "imsperm-demo"})
    assert "我的权限" in text(client.get("/me/permissions/", HTTP_ACCEPT_LANGUAGE="en-US"))
    client.post("/me/preferences/language/", {"language": "", "next": "/me/permissions/"})  # follow the browser
    assert UserPreference.objects.get(user__username="viewer").language == ""
    page = text(client.get("/me/permissions/", HTTP_ACCEPT_LANGUAGE="en-US"))
    assert "My permissions" in page and "我的权限" not in page


def test_anonymous_switch_keeps_the_choice_in_the_language_cookie(client):
    response = client.post("/me/preferences/language/", {"language": "zh-hans", "next": "/accounts/login/?next=/"})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    assert "使用您的 IAM 用户名和密码登录。" in text(client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US"))


def test_a_language_the_console_does_not_offer_is_refused_and_nothing_changes(as_user):
    browser = as_user("viewer")
    response = browser.post("/me/preferences/language/", {"language": "fr"})
    assert response.status_code == 422 and "language" in response.json()["errors"]
    assert not UserPreference.objects.filter(user__username="viewer", language="fr").exists()
    off_site = browser.post("/me/preferences/language/", {"language": "en", "next": "https://evil.example/"})
    assert off_site["Location"] == "/"


def test_form_errors_and_messages_in_chinese(as_user):
    browser = as_user("viewer")
    refused = text(browser.post("/me/preferences/", {"time_zone": "Mars/Olympus", "theme": "light"},
                                HTTP_ACCEPT_LANGUAGE="zh-Hans"))
    assert "“Mars/Olympus”不是 IANA 时区" in refused and "时区" in refused
    saved = browser.post("/me/preferences/", {"time_zone": "Asia/Shanghai", "theme": "light"},
                         HTTP_ACCEPT_LANGUAGE="zh-Hans", follow=True)
    assert "偏好设置已保存：时间以 Asia/Shanghai 显示。" in text(saved)


def test_pluralize_adds_no_english_suffix_in_chinese():
    template = engines["django"].from_string("{{ n }} image{{ n|pluralize }} {{ n|pluralize:'is,are' }}")
    with translation.override("en"):
        assert template.render({"n": 2}) == "2 images are" and template.render({"n": 1}) == "1 image is"
    with translation.override("zh-hans"):
        assert template.render({"n": 2}) == "2 image "


def run_check(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "check-translations"), *args],
                          capture_output=True, text=True, cwd=ROOT)


def test_the_check_passes_on_the_committed_translation_and_fails_on_an_untranslated_or_fuzzy_one(tmp_path):
    passed = run_check("--no-sync")
    assert passed.returncode == 0, passed.stderr
    copy = tmp_path / "django.po"
    shutil.copyfile(PO, copy)
    po = copy.read_text(encoding="utf-8")
    emptied = po.replace('msgid "Skip to content"\nmsgstr "跳到正文"', 'msgid "Skip to content"\nmsgstr ""')
    assert emptied != po
    copy.write_text(emptied, encoding="utf-8")
    failed = run_check("--no-sync", "--po", str(copy))
    assert failed.returncode == 1 and "untranslated: 'Skip to content'" in failed.stderr
    copy.write_text(po.replace('msgid "Skip to content"', '#, fuzzy\nmsgid "Skip to content"'), encoding="utf-8")
    fuzzy = run_check("--no-sync", "--po", str(copy))
    assert fuzzy.returncode == 1 and "fuzzy: 'Skip to content'" in fuzzy.stderr


def test_the_check_finds_a_string_marked_in_the_source_but_missing_from_the_po(tmp_path):
    copy = tmp_path / "django.po"
    po = PO.read_text(encoding="utf-8")
    copy.write_text(po.replace('msgid "Skip to content"\nmsgstr "跳到正文"\n\n', ""), encoding="utf-8")
    result = run_check("--po", str(copy))
    assert result.returncode == 1
    assert "marked in the source, missing from the .po: 'Skip to content'" in result.stderr


def test_the_template_scan_finds_unmarked_text_and_attributes_and_skips_identifiers():
    sys.path.insert(0, str(ROOT / "scripts"))
    import template_strings

    found = template_strings.unmarked(
        '{% block body_class %}page-login{% endblock %}<h1>Images</h1><p>{% translate "Done" %}</p>'
        '<input placeholder="Search by name"><code>ims:images:list</code> <span>{{ name }}</span> · imsperm')
    assert found == ["Images", "Search by name"]
    marked = template_strings.mark('<p>Hello <strong>{{ user.name }}</strong>!</p>')
    assert marked == ('<p>{% blocktranslate with name=user.name %}Hello <strong>{{ name }}</strong>!'
                      '{% endblocktranslate %}</p>')
    assert template_strings.unmarked(marked) == []


def test_the_template_scan_finds_text_inside_an_if_in_an_attribute():
    """An {% if %} choosing an attribute's text hid its unmarked sentence from the scan (issue 24)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import template_strings

    source = ('<button title="{% if accept %}{{ accept.reason }}{% else %}You need ims:images:share in '
              '{{ project.name }} to accept it.{% endif %}" aria-label="{% if on %}{% translate "On" %}{% else %}'
              'Off{% endif %}">{{ label }}</button>')
    assert template_strings.unmarked(source) == [
        "You need ims:images:share in {{ project.name }} to accept it.", "Off"]
    marked = template_strings.mark(source)
    assert ('{% else %}{% blocktranslate with name=project.name %}You need ims:images:share in {{ name }} to '
            'accept it.{% endblocktranslate %}{% endif %}"') in marked
    assert '{% else %}{% translate "Off" %}{% endif %}"' in marked
    assert template_strings.unmarked(marked) == []


def test_access_request_mail_goes_out_in_each_recipients_language(django_capture_on_commit_callbacks):
    for person in User.objects.filter(username__in=["admin", "viewer"]):
        person.email = f"{person.username}@example.test"
        person.save(update_fields=["email"])
    services.update_preferences(actor=User.objects.get(username="admin"), language="zh-hans")
    with frozen(T0), django_capture_on_commit_callbacks(execute=True):
        asked = ask_delete()
    to_admin = mail.outbox[-1]
    assert to_admin.to == ["admin@example.test"]
    assert to_admin.subject.startswith("[imsperm] 来自 viewer 的访问申请")
    assert "请在 IAM → 访问申请中处理" in to_admin.body
    with frozen(T0), django_capture_on_commit_callbacks(execute=True):
        requests.approve(actor=User.objects.get(username="admin"), access_request=asked, duration=timedelta(hours=1))
    to_viewer = mail.outbox[-1]  # the requester chose no language: English, as before
    assert to_viewer.to == ["viewer@example.test"] and "approved by admin" in to_viewer.body
    assert not CHINESE.search(to_viewer.body + to_viewer.subject)


def test_the_switch_returns_to_the_page_it_was_pressed_on_with_its_query_and_never_off_site(as_user):
    browser = as_user("viewer")
    back = browser.post("/me/preferences/language/", {"language": "zh-hans"},
                        HTTP_REFERER="http://testserver/images/?project=cn-north-4")
    assert back.status_code == 302 and back["Location"] == "/images/?project=cn-north-4"
    away = browser.post("/me/preferences/language/", {"language": "en"}, HTTP_REFERER="https://evil.example/x")
    assert away["Location"] == "/"
    page = text(browser.get("/me/confirm/?next=//evil.example/"))
    assert "evil.example" not in page  # the switch does not echo the page's address


def test_the_check_fails_when_the_mo_was_not_compiled_from_the_po(tmp_path):
    copy = tmp_path / "django.po"
    copy.write_text(PO.read_text(encoding="utf-8").replace('msgstr "跳到正文"', 'msgstr "跳至正文"'), encoding="utf-8")
    shutil.copyfile(PO.with_suffix(".mo"), tmp_path / "django.mo")  # compiled from the committed .po
    result = run_check("--no-sync", "--po", str(copy))
    assert result.returncode == 1 and "not compiled: 'Skip to content'" in result.stderr


def test_the_pager_reads_as_one_sentence_in_each_language():
    """"Page 2 of 3" is one message: split in two, Chinese read "第 2 页 ，共 3 页" (a space before the comma)."""
    from types import SimpleNamespace

    page = SimpleNamespace(number=2, pages=3, first_index=26, last_index=50, count_label="60",
                           previous_cursor=None, next_cursor=None)
    template = engines["django"].from_string('{% include "partials/pager.html" with always=True %}')
    with translation.override("zh-hans"):
        chinese = template.render({"page": page})
    with translation.override("en"):
        english = template.render({"page": page})
    assert "第 2 页，共 3 页" in chinese
    assert "Page 2 of 3 · 26–50 of 60" in english
