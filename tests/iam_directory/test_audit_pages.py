"""The audit log: changes with before/after, refused attempts, filters, pagination and the CSV export."""

import csv
import html
import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import audit, services
from accounts.models import AuditEvent

from .conftest import group, user

pytestmark = pytest.mark.usefixtures("demo")


@pytest.fixture
def history(demo):
    """A change by iam-admin, a refusal of viewer, and an old event of admin."""
    services.group_create(actor=user("iam-admin"), name="auditors", description="reads logs")
    audit.record(actor=user("viewer"), action="ims:images:delete", project="cn-north-4", outcome="denied",
                 message="Denied in cn-north-4: no grant allows ims:images:delete here (implicit deny).")
    old = audit.record(actor=user("admin"), action="iam:users:updateUser", target=user("newcomer"),
                       details={"before": {"is_active": True}, "after": {"is_active": False}})
    AuditEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))


def rows(response):
    return re.findall(r'<tr data-event="\d+" data-action="([^"]+)" data-outcome="([^"]+)">', response.content.decode())


def test_the_log_shows_who_what_target_outcome_and_before_after(history, as_user):
    response = as_user("iam-admin").get("/iam/audit/?user=iam-admin")
    page = response.content.decode()
    assert rows(response) == [("iam:groups:createGroup", "allowed")]
    assert "auditors" in page and "reads logs" in page and "<strong>After</strong>" in page


def test_the_log_filters_by_outcome_action_and_date(history, as_user):
    browser = as_user("admin")
    assert rows(browser.get("/iam/audit/?outcome=denied")) == [("ims:images:delete", "denied")]
    assert rows(browser.get("/iam/audit/?action=iam:users:updateUser&user=admin")) == [
        ("iam:users:updateUser", "allowed")]
    today = timezone.localdate().isoformat()
    assert ("iam:users:updateUser", "allowed") not in rows(browser.get(f"/iam/audit/?date_from={today}"))
    old_day = (timezone.localdate() - timedelta(days=10)).isoformat()
    assert rows(browser.get(f"/iam/audit/?date_from={old_day}&date_to={old_day}")) == [
        ("iam:users:updateUser", "allowed")]


def test_a_bad_date_range_says_so(history, as_user):
    page = as_user("admin").get("/iam/audit/?date_from=2026-01-10&date_to=2026-01-01").content.decode()
    assert "The end date is before the start date." in page


def test_a_refused_page_shows_up_in_the_log(as_user):
    as_user("viewer").get("/iam/groups/")
    page = as_user("admin").get("/iam/audit/?outcome=denied&user=viewer").content.decode()
    assert "iam:groups:listGroups" in page and "/iam/groups/" in page


def test_the_log_paginates(history, as_user):
    for number in range(60):
        audit.record(actor=None, action="iam:users:getUser", message=f"bulk {number}")
    browser = as_user("admin")
    assert len(rows(browser.get("/iam/audit/"))) == 50
    assert "Page 1 of 2" in browser.get("/iam/audit/").content.decode()


def test_the_csv_export_streams_the_same_filters(history, as_user):
    response = as_user("iam-admin").get("/iam/audit/export.csv?outcome=denied")
    assert response.streaming and response["Content-Type"] == "text/csv"
    assert "attachment" in response["Content-Disposition"]
    table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert table[0] == ["time (UTC)", "user", "action", "target type", "target id", "target", "project", "outcome",
                        "message", "details", "repeats", "last seen (UTC)"]
    assert [(r[1], r[2], r[6], r[7]) for r in table[1:]] == [("viewer", "ims:images:delete", "cn-north-4",
                                                              "denied")]


def test_the_csv_export_stays_in_utc_whatever_the_persons_zone(history, as_user):
    from preferences.services import update_preferences

    browser = as_user("iam-admin")
    update_preferences(actor=user("iam-admin"), time_zone="Asia/Shanghai")
    browser.post("/me/preferences/", {"time_zone": "Asia/Shanghai", "theme": "auto"})
    response = browser.get("/iam/audit/export.csv?outcome=denied")
    table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert table[0][0] == "time (UTC)" and table[1][0].endswith("+00:00")
    assert 'Z.csv"' in response["Content-Disposition"]


def test_the_csv_export_neutralises_formulas(as_user):
    services.group_create(actor=user("admin"), name="=cmd", description="")
    response = as_user("admin").get("/iam/audit/export.csv?action=iam:groups:createGroup")
    table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert table[1][5] == "'=cmd"
    assert group("=cmd")


def test_next_walks_the_whole_log_newest_first_even_through_equal_times(history, as_user):
    """Events written in the same instant are told apart by id: none is skipped or shown twice."""
    created = [audit.record(actor=None, action="iam:users:getUser", message=f"tie {n}") for n in range(120)]
    AuditEvent.objects.filter(pk__in=[event.pk for event in created]).update(created_at=created[0].created_at)
    browser = as_user("admin")
    url, seen = "/iam/audit/", []
    while url:
        body = browser.get(url).content.decode()
        seen += re.findall(r'data-event="(\d+)"', body)
        found = re.search(r'href="([^"]+)" rel="next"', body)
        url = "/iam/audit/" + html.unescape(found.group(1)) if found else None
    expected = [str(pk) for pk in AuditEvent.objects.order_by("-created_at", "-id").values_list("pk", flat=True)]
    assert seen == expected
