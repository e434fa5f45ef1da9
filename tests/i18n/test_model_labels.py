"""Issue 24: the models' own words — app, model and field names, help texts, a mapping rule's operator —
read in Simplified Chinese in Django admin (and wherever a form or page shows them), while English reads
exactly as before and the migrations stay current."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from federation import services as federation_services
from federation.models import MappingRule
from tests.i18n.reading import EN, ZH, page_text

pytestmark = pytest.mark.usefixtures("demo")


def test_the_admin_index_names_apps_and_models_in_chinese_and_in_the_same_english(as_user):
    chinese = page_text(as_user("admin").get("/admin/", **ZH))
    for words in ("身份与访问", "用户组", "审计事件", "联合身份（身份提供商）", "身份提供商", "镜像导出"):
        assert words in chinese, words
    for english in ("Identity and access", "User groups", "Audit events", "Image exports", "Identity providers"):
        assert english not in chinese, english
    english = page_text(as_user("admin").get("/admin/", **EN))
    for words in ("Identity and access", "User groups", "Policies", "Audit events", "Federation (identity providers)",
                  "Identity providers", "Federated identities", "Images", "Image exports"):
        assert words in english, words


def test_a_changelist_and_its_columns_read_in_chinese_and_in_the_same_english(as_user):
    admin = as_user("admin")
    chinese = page_text(admin.get("/admin/images/image/", **ZH))
    assert "镜像类型" in chinese and "磁盘格式" in chinese and "操作系统类型" in chinese
    assert "Image type" not in chinese and "Disk format" not in chinese
    english = page_text(admin.get("/admin/images/image/", **EN))
    assert "Image type" in english and "Disk format" in english and "Os type" in english
    groups = page_text(admin.get("/admin/accounts/usergroup/", **ZH))
    assert "选择 用户组 来修改" in groups or "选择用户组来修改" in groups
    assert "user group" not in groups.lower()
    assert "Select user group to change" in page_text(admin.get("/admin/accounts/usergroup/", **EN))


def test_a_change_form_shows_field_labels_and_help_in_chinese_and_in_the_same_english(as_user):
    admin = as_user("admin")
    provider = federation_services.provider_create(
        actor=None, name="Corp", issuer="https://id.example.test", client_id="console", client_secret="s3cret")
    chinese = page_text(admin.get(f"/admin/federation/identityprovider/{provider.pk}/change/", **ZH))
    assert "颁发者 URL" in chinese and "在登录页面上显示为“使用 <name> 登录”。" in chinese
    assert "issuer URL" not in chinese.lower().replace("颁发者 url", "")
    english = page_text(admin.get(f"/admin/federation/identityprovider/{provider.pk}/change/", **EN))
    assert "Issuer URL" in english and "Shown on the sign-in page as “Sign in with <name>”." in english


def test_a_rules_operator_reads_in_chinese_on_the_page_and_stays_english_in_the_audit():
    from django.utils import translation

    rule = MappingRule(claim="groups", operator=MappingRule.Operator.ONE_OF, value="ops,dev")
    with translation.override("zh-hans"):
        assert rule.get_operator_display() == "属于以下之一"
        assert rule.describe() == "groups is one of ops,dev"
    with translation.override("en"):
        assert rule.get_operator_display() == "is one of"


def test_the_migrations_hold_every_label():
    """The labels are part of the migration state: a model change without its migration fails here."""
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())


def test_a_name_taken_in_another_letter_case_is_refused_in_chinese_and_in_the_same_english(as_user):
    from tests.admin.conftest import form_data

    admin = as_user("admin")
    add = "/admin/accounts/usergroup/add/"
    data = form_data(admin.get(add, **ZH), "usergroup", name="ADMIN", description="")
    chinese = page_text(admin.post(add, data, **ZH))
    assert "此用户组名称已被使用：仅字母大小写不同的名称（ADMIN 和 admin）视为相同。" in chinese
    english = page_text(admin.post(add, data, **EN))
    assert ("This group name is taken: names that differ only in letter case (ADMIN and admin) count as the same."
            in english)


def test_an_images_os_type_and_bits_read_in_chinese_and_in_the_same_english(as_user):
    from django.utils import translation

    from images.models import Image

    browser = as_user("viewer")
    chinese = browser.get("/images/?project=cn-north-4", **ZH).content.decode()
    assert '<option value="Other">其他</option>' in chinese
    english = browser.get("/images/?project=cn-north-4", **EN).content.decode()
    assert '<option value="Other">Other</option>' in english
    bits = dict(Image._meta.get_field("os_bit").choices)
    with translation.override("zh-hans"):
        assert str(bits[64]) == "64 位"
    with translation.override("en"):
        assert str(bits[64]) == "64-bit"


def test_an_audit_events_title_in_admin_reads_in_the_readers_zone_and_language(db):
    """Django admin titles an audit event's page with the event itself: its moment and outcome as the
    reader reads every other time and word (it was UTC unlabelled and 'denied')."""
    import datetime

    from django.utils import timezone, translation

    from accounts.models import AuditEvent

    event = AuditEvent.objects.create(actor_name="viewer", action="ims:images:delete",
                                      outcome=AuditEvent.Outcome.DENIED)
    moment = datetime.datetime(2026, 12, 6, 10, 2, 3, tzinfo=datetime.UTC)
    AuditEvent.objects.filter(pk=event.pk).update(created_at=moment)
    event.refresh_from_db()
    with translation.override("zh-hans"), timezone.override("Asia/Shanghai"):
        title = str(event)
        denied = str(AuditEvent.Outcome.DENIED.label)
    assert title == f"2026-12-06 18:02:03 GMT+08:00 viewer ims:images:delete {denied}"
    assert denied != "Denied"
    with translation.override("en"), timezone.override("UTC"):
        assert str(event) == "2026-12-06 10:02:03 GMT+00:00 viewer ims:images:delete Denied"
