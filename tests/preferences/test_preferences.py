"""A person's preferences: the settings page (anonymous / allowed, bad input at its field), the
services' audit, the time zone at sign-in, the theme switch, and pages in the chosen zone at no
extra query."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditEvent, User
from preferences import services
from preferences.models import UserPreference
from preferences.moments import label, moment_html

pytestmark = pytest.mark.usefixtures("demo")
URL = "/me/preferences/"


def user(name):
    return User.objects.get(username=name)


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.post("/me/preferences/theme/", {"theme": "dark"}).status_code == 302
    assert not UserPreference.objects.filter(theme="dark").exists()


def test_the_page_shows_the_zone_and_saves_a_new_one_with_its_audit(as_user):
    browser = as_user("viewer")
    page = browser.get(URL)
    assert page.status_code == 200
    assert b"No time zone chosen yet" in page.content
    response = browser.post(URL, {"time_zone": "Asia/Shanghai", "theme": "dark"})
    assert response.status_code == 302
    preference = UserPreference.objects.get(user=user("viewer"))
    assert (preference.time_zone, preference.theme) == ("Asia/Shanghai", "dark")
    event = AuditEvent.objects.filter(action="preferences:update", actor=user("viewer")).first()
    assert event.details["after"] == {"time_zone": "Asia/Shanghai", "theme": "dark"}
    again = browser.get(URL)
    assert b'data-theme="dark"' in again.content
    assert b"GMT+08:00" in again.content  # the page's own "Now" in the chosen zone


def test_an_unknown_zone_is_refused_at_its_field_and_nothing_changes(as_user):
    browser = as_user("viewer")
    response = browser.post(URL, {"time_zone": "Mars/Olympus", "theme": "light"})
    assert response.status_code == 422
    assert "is not an IANA time zone" in response.content.decode()
    assert not UserPreference.objects.filter(user=user("viewer"), theme="light").exists()
    assert not AuditEvent.objects.filter(action="preferences:update", actor=user("viewer")).exists()


def test_a_change_to_the_same_values_writes_no_event():
    viewer = user("viewer")
    services.update_preferences(actor=viewer, theme="dark")
    services.update_preferences(actor=viewer, theme="dark")
    assert AuditEvent.objects.filter(action="preferences:update", actor=viewer).count() == 1


def test_the_browser_zone_is_kept_on_first_sign_in_only(client):
    client.post("/accounts/login/", {"username": "viewer", "password": "imsperm-demo", "time_zone": "Europe/Paris"})
    assert UserPreference.objects.get(user=user("viewer")).time_zone == "Europe/Paris"
    client.post("/accounts/logout/")
    client.post("/accounts/login/", {"username": "viewer", "password": "imsperm-demo", "time_zone": "Asia/Tokyo"})
    assert UserPreference.objects.get(user=user("viewer")).time_zone == "Europe/Paris"


def test_detected_zone_else_utc_and_only_while_none(as_user):
    browser = as_user("developer")
    assert 'data-detect-time-zone=' in browser.get("/me/permissions/").content.decode()
    assert browser.post("/me/preferences/time-zone/detect/", {"time_zone": "Nowhere/Land"}).json() == {
        "time_zone": "UTC"}
    assert browser.post("/me/preferences/time-zone/detect/", {"time_zone": "Asia/Tokyo"}).json() == {
        "time_zone": "UTC"}  # a zone is already there: detection does not move it
    assert "data-detect-time-zone=" not in browser.get("/me/permissions/").content.decode()


def test_theme_switch_remembers_and_applies_server_side(as_user):
    browser = as_user("viewer")
    response = browser.post("/me/preferences/theme/", {"theme": "dark", "next": "/me/permissions/"})
    assert response.status_code == 302 and response["Location"] == "/me/permissions/"
    page = browser.get("/me/permissions/").content.decode()
    assert '<html lang="en" data-theme="dark">' in page
    assert 'value="dark" aria-pressed="true"' in page
    assert browser.post("/me/preferences/theme/", {"theme": "purple"}).status_code == 422
    assert browser.post("/me/preferences/theme/", {"theme": "light", "next": "https://evil.example/"})[
        "Location"] == "/"


def test_times_are_shown_in_the_persons_zone_labelled_with_the_utc_instant_on_hover(as_user):
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    browser = as_user("admin")
    viewer = user("viewer")
    utc_page = browser.get(f"/iam/users/{viewer.pk}/").content.decode()
    browser.post(URL, {"time_zone": "Asia/Shanghai", "theme": "auto"})
    page = browser.get(f"/iam/users/{viewer.pk}/").content.decode()
    with timezone.override(ZoneInfo("Asia/Shanghai")):
        shown = str(moment_html(viewer.date_joined))
    assert "GMT+08:00" in shown and shown in page and shown not in utc_page
    assert f'title="{viewer.date_joined.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"' in page


def test_the_label_format():
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    moment = datetime(2026, 12, 6, 10, 2, 7, tzinfo=UTC)
    with timezone.override(ZoneInfo("Asia/Shanghai")):
        assert label(moment) == "2026-12-06 18:02 GMT+08:00"
        assert str(moment_html(moment)) == ('<time datetime="2026-12-06T10:02:07Z" title="2026-12-06 10:02:07 UTC" '
                                            'data-moment>2026-12-06 18:02 GMT+08:00</time>')
    with timezone.override(ZoneInfo("America/St_Johns")):
        assert label(moment, "seconds") == "2026-12-06 06:32:07 GMT-03:30"
    assert moment_html(None) == ""


@pytest.mark.parametrize("url", ["/me/permissions/", "/iam/users/", "/iam/audit/"])
def test_a_chosen_zone_costs_no_query_per_page(as_user, url):
    browser = as_user("admin")
    browser.get(url)
    with CaptureQueriesContext(connection) as utc:
        browser.get(url)
    browser.post(URL, {"time_zone": "Asia/Shanghai", "theme": "dark"})
    browser.get(url)
    with CaptureQueriesContext(connection) as shanghai:
        assert browser.get(url).status_code == 200
    assert len(shanghai) == len(utc)


def test_settings_page_query_budget(as_user, django_assert_max_num_queries):
    browser = as_user("viewer")
    browser.get(URL)
    with django_assert_max_num_queries(6):
        assert browser.get(URL).status_code == 200


def test_the_attach_forms_end_is_read_in_the_persons_zone_and_says_so(as_user):
    from accounts.models import UserGroup

    browser = as_user("admin")
    browser.post(URL, {"time_zone": "Asia/Shanghai", "theme": "auto"})
    group = UserGroup.objects.get(name="viewers")
    page = browser.get(f"/iam/groups/{group.pk}/permissions/attach/").content.decode()
    assert "Until (Asia/Shanghai)" in page


def test_an_ends_audit_wording_stays_in_utc_whatever_the_zone():
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    from accounts.services.grants import expires_text

    with timezone.override(ZoneInfo("Asia/Shanghai")):
        assert expires_text(datetime(2026, 12, 31, 10, 0, tzinfo=UTC)) == "2026-12-31 10:00 UTC"
