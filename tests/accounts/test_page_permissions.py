"""One page check (accounts/permissions.py): every refusal is audited, and a flood of them stays one event."""

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import resolve
from django.utils import timezone

from accounts import permissions
from accounts.audit import REPEAT_WINDOW
from accounts.management.commands.seed_demo import demo_id
from accounts.models import AuditEvent, User
from images.models import Image

pytestmark = pytest.mark.usefixtures("demo")

DEV_ACTIVE = "cn-north-4-dev-centos-system-00"  # private to cn-north-4_dev, where developer may not delete
NORTH_ACTIVE = "cn-north-4-ubuntu-system-00"


def refusals(**filters):
    return list(AuditEvent.objects.filter(outcome="denied", **filters))


def delete_url(name):
    return f"/images/{demo_id(name)}/delete/"


def test_a_forbidden_image_delete_writes_a_denied_event_on_the_image(as_user):
    response = as_user("developer").post(delete_url(DEV_ACTIVE))
    assert response.status_code == 403 and "DenyImageDeletion" in response.content.decode()
    assert Image.objects.filter(name=DEV_ACTIVE).exists()
    [event] = refusals(actor_name="developer")
    assert (event.action, event.target_type, event.target_id, event.target_repr, event.project) == (
        "ims:images:delete", "image", str(demo_id(DEV_ACTIVE)), DEV_ACTIVE, "cn-north-4_dev")
    assert "explicitly" in event.message and event.details == {"method": "POST", "path": delete_url(DEV_ACTIVE)}


def test_refused_create_bulk_list_and_details_are_audited(as_user):
    browser = as_user("viewer")
    assert browser.post("/images/create/?project=cn-north-4", {"kind": "system"}).status_code == 403
    assert browser.post("/images/bulk/delete/?project=cn-north-4",
                        {"ids": [str(demo_id(NORTH_ACTIVE))]}).status_code == 403
    newcomer = as_user("newcomer")
    assert newcomer.get("/images/?project=cn-north-4").status_code == 403
    assert newcomer.get(f"/images/{demo_id(NORTH_ACTIVE)}/?project=cn-north-4").status_code == 404
    assert {(e.actor_name, e.action, e.target_type) for e in refusals()} == {
        ("viewer", "ims:serverImages:create", "page"),
        ("viewer", "ims:images:delete", "image"),
        ("newcomer", "ims:images:list", "page"),
    }


def test_a_repeated_refusal_within_the_window_is_one_event_counted_twice(as_user):
    browser = as_user("developer")
    for _ in range(2):
        assert browser.post(delete_url(DEV_ACTIVE)).status_code == 403
    [event] = refusals(actor_name="developer")
    assert event.repeat_count == 2 and event.last_seen_at >= event.created_at
    page = as_user("admin").get("/iam/audit/?outcome=denied&user=developer").content.decode()
    assert 'data-testid="repeats"' in page and "×2" in page
    history = as_user("admin").get(f"/images/{demo_id(DEV_ACTIVE)}/?project=cn-north-4_dev").content.decode()
    assert 'data-testid="repeats"' in history and "×2" in history


def test_a_refusal_after_the_window_is_a_new_event(as_user):
    browser = as_user("developer")
    browser.post(delete_url(DEV_ACTIVE))
    AuditEvent.objects.filter(actor_name="developer").update(
        created_at=timezone.now() - REPEAT_WINDOW - timedelta(seconds=1))
    browser.post(delete_url(DEV_ACTIVE))
    assert sorted(event.repeat_count for event in refusals(actor_name="developer")) == [1, 1]


def test_refusals_of_different_targets_or_actions_are_not_merged(as_user):
    browser = as_user("viewer")
    viewer_pk = User.objects.get(username="viewer").pk
    browser.post(f"/iam/users/{viewer_pk}/delete/")
    browser.post(f"/iam/users/{viewer_pk}/edit/")
    browser.post(f"/iam/users/{viewer_pk}/delete/")
    counts = {(e.action, e.target_repr): e.repeat_count for e in refusals(actor_name="viewer")}
    assert counts == {("iam:users:deleteUser", f"/iam/users/{viewer_pk}/delete/"): 2,
                      ("iam:users:updateUser", f"/iam/users/{viewer_pk}/edit/"): 1}
    assert as_user("admin").get("/iam/audit/?user=viewer").content.decode().count('data-testid="repeats"') == 1


def test_repeats_show_in_the_csv_export(as_user):
    for _ in range(3):
        as_user("developer").post(delete_url(DEV_ACTIVE))
    response = as_user("admin").get("/iam/audit/export.csv?user=developer")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].endswith("repeats,last seen (UTC)") and ",3," in lines[1]


def test_a_view_may_check_only_the_actions_it_declares():
    """The crawler trusts declarations: checking an undeclared action is a programming error."""

    @permissions.permission_required_action("iam:users:listUsers", in_view=True)
    def sneaky(request):
        permissions.check(request, "iam:users:deleteUser")
        return HttpResponse()

    request = RequestFactory().get("/iam/users/")
    request.user = User.objects.get(username="admin")
    request.resolver_match = resolve("/iam/users/")
    request.resolver_match.func = sneaky
    with pytest.raises(ImproperlyConfigured, match="declares only"):
        sneaky(request)


def test_counting_a_repeat_is_one_indexed_lookup_and_one_update():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts import audit

    developer = User.objects.get(username="developer")
    refusal = {"actor": developer, "action": "ims:images:delete", "target_type": "page", "target_repr": "/x/",
               "outcome": "denied", "message": "Denied."}
    audit.record(**refusal)
    with CaptureQueriesContext(connection) as queries:
        event = audit.record(**refusal)
    assert event.repeat_count == 2 and len(queries) == 2
    lookup, update = (query["sql"] for query in queries.captured_queries)
    assert lookup.startswith("SELECT") and update.startswith("UPDATE")
    if connection.vendor == "postgresql":  # a tiny test table is read whole unless the planner is told not to
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")

    same = AuditEvent.objects.filter(actor=developer, action="ims:images:delete", target_type="page",
                                     target_repr="/x/", outcome="denied",
                                     created_at__gte=timezone.now() - audit.REPEAT_WINDOW)
    plan = same.explain()
    if connection.vendor == "postgresql":
        # On a table of a few rows PostgreSQL's choice among the indexes that fit (the repeat lookup's,
        # the target's, the outcome's) follows its statistics of the moment: an index, never the table.
        assert "Index" in plan and "Seq Scan" not in plan, plan
    else:
        assert "audit_repeat_lookup" in plan
