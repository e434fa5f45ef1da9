"""The access request pages (issue 21): the form, one's own requests, the queue, approve and deny — each
anonymous / forbidden / allowed / out of scope, with a query budget that does not grow with the rows."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import services
from accounts.models import AccessRequest, AuditEvent, Grant
from accounts.services import access_requests as service

from .conftest import ask_delete, let_ask, project, user

pytestmark = pytest.mark.usefixtures("demo")
Status = AccessRequest.Status
NEW, MINE, QUEUE, BADGE = ("/iam/access-requests/new/", "/iam/access-requests/mine/", "/iam/access-requests/",
                           "/iam/access-requests/badge/")
BUDGET = 12


def approve_url(asked):
    return f"/iam/access-requests/{asked.pk}/approve/"


def deny_url(asked):
    return f"/iam/access-requests/{asked.pk}/deny/"


def queries(browser, url):
    browser.get(url)  # warm the per-process caches, like a running console
    with CaptureQueriesContext(connection) as captured:
        assert browser.get(url).status_code == 200
    return len(captured)


def grow_requests(count=12):
    """Requests from several people for several things, every one decidable by admin."""
    for number in range(count):
        name = f"asker{number:02d}"
        created, _ = services.user_create(actor=None, username=name, password="imsperm-demo")
        let_ask(created)
        action = ("ims:images:delete", "ims:images:share", "iam:users:listUsers")[number % 3]
        service.ask(actor=created, action=action, project=project("cn-north-4"), duration=timedelta(hours=1),
                    justification=f"reason {number}")
    service.ask(actor=user("viewer"), policy=Grant.objects.get(group__name="north-ops",
                                                               policy__name="Server Administrator").policy,
                project=project("cn-north-4"), duration=timedelta(hours=8), justification="a role")


@pytest.mark.parametrize("url", [NEW, MINE, QUEUE, BADGE, "/iam/access-requests/1/approve/",
                                 "/iam/access-requests/1/deny/"])
def test_anonymous_people_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- the form -------------------------------------------------------------------------------------

def test_the_form_is_pre_filled_from_the_query_string(as_user):
    page = as_user("viewer").get(NEW, {"action": "ims:images:delete", "project": "cn-north-4"}).content.decode()
    assert '<option value="action:ims:images:delete" selected>' in page
    assert '<option value="cn-north-4" selected>' in page


def test_asking_sends_the_request_and_lists_it_as_mine(as_user):
    browser = as_user("viewer")
    response = browser.post(NEW, {"what": "action:ims:images:delete", "project": "cn-north-4", "duration": "8h",
                                  "justification": "Remove the broken images"}, follow=True)
    assert response.redirect_chain[-1][0] == MINE
    page = response.content.decode()
    assert "Asked for ims:images:delete on cn-north-4 for 8 hours" in page
    assert 'data-status="pending"' in page
    assert AccessRequest.objects.get(requester=user("viewer")).status == Status.PENDING


def test_a_missing_justification_is_shown_on_its_field(as_user):
    response = as_user("viewer").post(NEW, {"what": "action:ims:images:delete", "project": "cn-north-4",
                                            "duration": "8h", "justification": ""})
    assert response.status_code == 422
    assert 'class="field-error"' in response.content.decode()
    assert not AccessRequest.objects.exists()


def test_a_missing_project_is_shown_on_its_field(as_user):
    response = as_user("viewer").post(NEW, {"what": "action:ims:images:delete", "project": "",
                                            "duration": "8h", "justification": "why"})
    assert response.status_code == 422 and "Choose a project, or All resources." in response.content.decode()


def test_asking_for_what_one_holds_is_answered_on_the_spot(as_user):
    response = as_user("viewer").post(NEW, {"what": "action:ims:images:list", "project": "cn-north-4",
                                            "duration": "1h", "justification": "see"}, follow=True)
    assert "You already hold ims:images:list on cn-north-4" in response.content.decode()
    assert AccessRequest.objects.get().status == Status.ANSWERED


def test_the_form_and_my_requests_stay_within_the_budget(as_user, django_assert_max_num_queries):
    browser = as_user("viewer")
    few = queries(browser, MINE)
    for number in range(10):
        service.ask(actor=user("viewer"), action="ims:images:delete", project=project("cn-north-4"),
                    duration=timedelta(hours=1), justification=f"again {number}")
    assert queries(browser, MINE) == few <= BUDGET
    with django_assert_max_num_queries(BUDGET):
        browser.get(NEW + "?action=ims:images:delete&project=cn-north-4")


def test_my_requests_show_only_mine(as_user):
    ask_delete(requester="viewer", why="viewer's own reason")
    page = as_user("north-ops").get(MINE).content.decode()
    assert "viewer&#x27;s own reason" not in page and "You have asked for nothing yet" in page


# --- the queue ------------------------------------------------------------------------------------

def test_the_queue_is_refused_without_the_list_action(as_user):
    response = as_user("viewer").get(QUEUE)
    assert response.status_code == 403
    assert AuditEvent.objects.filter(action="iam:accessRequests:list", outcome="denied").exists()


def test_the_queue_shows_who_what_where_how_long_why_and_impact(as_user):
    ask_delete()
    page = as_user("admin").get(QUEUE).content.decode()
    assert 'data-field="who">viewer<' in page
    assert "<code>ims:images:delete</code>" in page and 'data-field="where">cn-north-4<' in page
    assert 'data-field="duration">8 hours<' in page and "Clean up the broken test images" in page
    assert 'data-gain="ims:images:delete"' in page and "(now: Not granted)" in page


def test_each_decider_sees_only_what_they_could_grant(as_user):
    ask_delete()  # images: iam-admin holds no image permission
    service.ask(actor=user("viewer"), action="iam:users:listUsers", duration=timedelta(hours=1),
                justification="look up a colleague")
    iam_page = as_user("iam-admin").get(QUEUE).content.decode()
    assert iam_page.count('data-testid="queued-request"') == 1 and "iam:users:listUsers" in iam_page
    assert "ims:images:delete" not in iam_page
    # Never one's own: the requester (given the IAM role here) does not see their request.
    services.group_add_member(actor=None, group=Grant.objects.get(group__name="iam-admins").group, user=user("viewer"))
    assert 'data-testid="queue-empty"' in as_user("viewer").get(QUEUE).content.decode()


def test_the_queue_stays_within_the_budget_as_requests_grow(as_user, django_assert_max_num_queries):
    browser = as_user("admin")
    ask_delete()
    few = queries(browser, QUEUE)
    grow_requests()
    page = browser.get(QUEUE).content.decode()
    assert page.count('data-testid="queued-request"') == 14
    assert queries(browser, QUEUE) == few <= BUDGET + 3


# --- approving and denying ------------------------------------------------------------------------

def test_deciding_is_refused_without_the_actions(as_user):
    asked = ask_delete()
    assert as_user("north-ops").get(approve_url(asked)).status_code == 403
    assert as_user("north-ops").post(deny_url(asked), {"reason": "no"}).status_code == 403
    asked.refresh_from_db()
    assert asked.status == Status.PENDING


def test_an_approver_who_could_not_grant_it_is_refused_and_audited(as_user):
    asked = ask_delete()
    response = as_user("iam-admin").post(approve_url(asked), {"duration": "1h"})
    assert response.status_code == 403 and "ims:images:delete on cn-north-4" in response.content.decode()
    assert AuditEvent.objects.filter(action="iam:accessRequests:approve", outcome="denied",
                                     actor=user("iam-admin")).exists()
    asked.refresh_from_db()
    assert asked.status == Status.PENDING


def test_the_requester_cannot_approve_their_own(as_user):
    asked = service.ask(actor=user("iam-admin"), action="ims:images:list", project=project("cn-north-4"),
                        duration=timedelta(hours=1), justification="mine")
    response = as_user("iam-admin").post(approve_url(asked), {"duration": "1h"})
    assert response.status_code == 403 and "your own" in response.content.decode()


def test_approving_shortened_grants_it_and_says_until_when(as_user):
    asked = ask_delete()
    browser = as_user("admin")
    page = browser.get(approve_url(asked)).content.decode()
    assert 'data-gain="ims:images:delete"' in page and 'name="csrfmiddlewaretoken"' in page
    assert '<option value="7d"' not in page  # never longer than asked
    response = browser.post(approve_url(asked), {"duration": "1h", "note": "one hour is enough"}, follow=True)
    assert "Approved: viewer holds ims:images:delete on cn-north-4 until" in response.content.decode()
    asked.refresh_from_db()
    assert asked.status == Status.APPROVED and asked.granted_duration == timedelta(hours=1)
    # Decided: the page now answers 409 instead of deciding twice.
    assert browser.post(approve_url(asked), {"duration": "1h"}).status_code == 409


def test_denying_needs_a_reason(as_user):
    asked = ask_delete()
    browser = as_user("admin")
    response = browser.post(deny_url(asked), {"reason": ""})
    assert response.status_code == 422 and 'class="field-error"' in response.content.decode()
    response = browser.post(deny_url(asked), {"reason": "Ask your team lead first"}, follow=True)
    assert "Denied viewer&#x27;s request for ims:images:delete" in response.content.decode()
    page = as_user("viewer").get(MINE).content.decode()
    assert 'data-status="denied"' in page and "Ask your team lead first" in page


def test_a_request_that_does_not_exist_is_a_404(as_user):
    assert as_user("admin").get("/iam/access-requests/999999/approve/").status_code == 404


def test_deciding_needs_the_csrf_token(as_user):
    asked = ask_delete()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user("admin"))
    assert browser.post(approve_url(asked), {"duration": "1h"}).status_code == 403
    asked.refresh_from_db()
    assert asked.status == Status.PENDING


def test_the_decision_pages_stay_within_the_budget(as_user, django_assert_max_num_queries):
    asked = ask_delete()
    browser = as_user("admin")
    few = queries(browser, approve_url(asked))
    grow_requests()
    assert queries(browser, approve_url(asked)) == few <= BUDGET + 2
    with django_assert_max_num_queries(BUDGET + 2):
        browser.get(deny_url(asked))


# --- the badge ------------------------------------------------------------------------------------

def test_the_badge_counts_what_the_viewer_could_decide(as_user):
    ask_delete()
    assert "1 access request" in as_user("admin").get(BADGE).content.decode()
    assert "access request" not in as_user("iam-admin").get(BADGE).content.decode()  # could not grant it
    assert "access request" not in as_user("viewer").get(BADGE).content.decode()


def test_the_top_bar_fetches_the_badge_only_for_those_who_see_the_queue(as_user):
    assert BADGE in as_user("admin").get("/me/permissions/").content.decode()
    assert BADGE not in as_user("viewer").get("/me/permissions/").content.decode()


def test_the_badge_costs_constant_queries(as_user):
    browser = as_user("admin")
    ask_delete()
    few = queries(browser, BADGE)
    grow_requests()
    assert queries(browser, BADGE) == few <= 6


def test_asking_in_chinese_says_what_where_and_how_long_in_chinese(as_user):
    """The flash message and my requests name the duration in the reader's language ('8 hours' was English in
    both); the audit log keeps the English."""
    from tests.i18n.reading import ZH, page_text

    response = as_user("viewer").post(NEW, {"what": "action:ims:images:delete", "project": "cn-north-4",
                                            "duration": "8h", "justification": "Remove the broken images"},
                                      follow=True, **ZH)
    page = page_text(response)
    assert "在 cn-north-4 上的 ims:images:delete，为期 8 小时" in page
    assert "8 hours" not in page
    assert "8 小时" in page_text(as_user("viewer").get(MINE, **ZH))
    event = AuditEvent.objects.filter(action="iam:accessRequests:create").latest("pk")
    assert event.details["duration"] == "8 hours"
