"""IAM → Access requests (issue 21): ask for access, one's own requests, the queue, approve and deny.

Asking needs iam:accessRequests:create, like any action (the system policy IAM AccessRequestSelfService
holds it); the queue and the decisions need the other iam:accessRequests:* actions, and each decider
sees only what they could grant themselves. Writes are in
accounts/services/access_requests.py.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext, gettext_lazy

from accounts import access_requests as selectors
from accounts.expiry import until_text
from accounts.findings import localized
from accounts.forms import add_service_errors
from accounts.models import AccessRequest, Policy
from accounts.permissions import login_only, permission_required_action
from accounts.policy import ACTIONS
from accounts.responses import conflict
from accounts.selectors import all_projects
from accounts.services import access_requests as service
from accounts.services.escalation import refuse_page

ALL_RESOURCES = "*"
DURATION_CHOICES = [("1h", "1 hour"), ("8h", "8 hours"), ("1d", "1 day"), ("7d", "7 days")]


class AskForm(forms.Form):
    """What (an action, or a role or policy), where, for how long, and why."""

    what = forms.ChoiceField(label=gettext_lazy("What you need"))
    project = forms.ChoiceField(label=gettext_lazy("Where"), required=False,
                                help_text=gettext_lazy("IAM actions and policies of IAM actions are always for All "
                                                       "resources."))
    duration = forms.ChoiceField(label=gettext_lazy("For how long"), choices=DURATION_CHOICES, initial="8h")
    justification = forms.CharField(label=gettext_lazy("Why you need it"), max_length=service.MAX_JUSTIFICATION,
                                    widget=forms.Textarea(attrs={"rows": 4}),
                                    help_text=gettext_lazy("The approver reads this: say what you are doing and why "
                                                           "now."))

    def __init__(self, *args, policies=(), projects=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.policies = {str(p.pk): p for p in policies}
        self.fields["what"].choices = [("", gettext("Choose…")),
                                       (gettext("Actions"), [(f"action:{a.name}", f"{a.name} — {gettext(a.label)}")
                                                             for a in ACTIONS]),
                                       (gettext("Roles and policies"), [(f"policy:{p.pk}", f"{p.name} ({p.kind_label})")
                                                               for p in policies])]
        self.projects = {p.name: p for p in projects}
        self.fields["project"].choices = [("", gettext("Choose…")), (ALL_RESOURCES, gettext("All resources")),
                                          *((name, name) for name in self.projects)]

    def clean_what(self):
        kind, _, value = self.cleaned_data["what"].partition(":")
        if kind == "policy":
            return {"policy": self.policies[value]}
        return {"action": value}

    def clean(self):
        data = super().clean()
        where = data.get("project")
        data["scope"] = {"all_resources": where == ALL_RESOURCES, "project": self.projects.get(where)}
        return data


def _ask_form(request, data=None) -> AskForm:
    policies = list(Policy.objects.only("pk", "name", "kind", "is_system").order_by("-is_system", "kind", "name"))
    query = request.GET
    what = (f"action:{query['action']}" if query.get("action") else
            f"policy:{query['policy']}" if query.get("policy") else "")
    project = query.get("project", "")
    initial = {"what": what, "project": project, "duration": query.get("duration") or "8h"}
    return AskForm(data, initial=initial, policies=policies, projects=all_projects(request))


@permission_required_action("iam:accessRequests:create")
def access_request_new(request):
    """The form to ask, pre-filled from the query string (?action= or ?policy=, &project=)."""
    form = _ask_form(request, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            asked = service.ask(actor=request.user, **data["what"], **data["scope"],
                                duration=service.DURATIONS[data["duration"]], justification=data["justification"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if asked.status == AccessRequest.Status.ANSWERED:
                messages.info(request, localized(asked.decision_reason))  # stored and audited in English
            else:
                messages.success(request, (gettext("Asked for %(describe)s. Those who can grant it are told; you "
                                                   "will be told of their decision.")
                                           % {"describe": localized(service.describe(asked))}))
            return redirect("iam:access-request-mine")
    return render(request, "iam/access_requests/new.html", {"form": form},
                  status=422 if form.errors else 200)


@login_only
def access_request_mine(request):
    """The signed-in person's own requests and what became of them."""
    rows = list(selectors.requests_of(request.user)[:200])
    return render(request, "iam/access_requests/mine.html", {"rows": rows})


@permission_required_action("iam:accessRequests:list")
def access_request_list(request):
    """The queue: pending requests this person could decide (what they could grant themselves), with impact."""
    rows, total = selectors.queue_for(request.user)
    return render(request, "iam/access_requests/list.html", {"rows": rows, "total": total})


class ApproveForm(forms.Form):
    duration = forms.ChoiceField(label=gettext_lazy("Grant it for"),
                                 help_text=gettext_lazy("The asked time, or shorter."))
    note = forms.CharField(label=gettext_lazy("Note to the requester"), required=False, max_length=500,
                           widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, asked=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["duration"].choices = [(key, label) for key, label in DURATION_CHOICES
                                           if service.DURATIONS[key] <= asked] or [("asked", "As asked")]
        self.fields["duration"].initial = next((k for k, _ in reversed(self.fields["duration"].choices)), "")


class DenyForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Why not"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=gettext_lazy("The requester reads this."))


def _decision_page(request, pk: int, verb: str, form_class, decide):
    """The approve or deny page: the request, its impact, the form; POST decides through `decide(data)`."""
    access_request = get_object_or_404(AccessRequest.objects.select_related("requester", "policy", "project"), pk=pk)
    if access_request.status != AccessRequest.Status.PENDING:
        status = access_request.get_status_display().lower()
        if access_request.decided_by_name:
            reason = gettext("This request is no longer pending: it was %(status)s by %(name)s.") % {
                "status": status, "name": access_request.decided_by_name}
        else:
            reason = gettext("This request is no longer pending: it was %(status)s.") % {"status": status}
        return conflict(request, reason, back_url=reverse("iam:access-request-list"),
                        back_label=gettext("Access requests"))
    refuse_page(request.user, f"iam:accessRequests:{verb}",
                service.decision_refusal(request.user, access_request, deciding=verb), target=access_request)
    kwargs = {"asked": access_request.duration} if verb == "approve" else {}
    form = form_class(request.POST if request.method == "POST" else None, **kwargs)
    if request.method == "POST" and form.is_valid():
        try:
            message = decide(access_request, form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, message)
            return redirect("iam:access-request-list")
    gains, blocked = selectors.impact_of(access_request)
    return render(request, f"iam/access_requests/{verb}.html",
                  {"access_request": access_request, "form": form, "gains": gains, "blocked": blocked},
                  status=422 if form.errors else 200)


@permission_required_action("iam:accessRequests:approve")
def access_request_approve(request, pk: int):
    def decide(access_request, data):
        duration = service.DURATIONS.get(data["duration"])
        done = service.approve(actor=request.user, access_request=access_request, duration=duration, note=data["note"])
        # The end as grants read everywhere on pages: the person's zone and language, how far off.
        return gettext("Approved: %(user)s holds %(what)s on %(scope)s %(until)s, through the group "
                       "%(group)s.") % {"user": done.requester.get_username(), "what": done.what,
                                        "scope": gettext(done.scope_label),  # "All resources" or a project
                                        "until": until_text(done.grant_expires), "group": done.group.name}

    return _decision_page(request, pk, "approve", ApproveForm, decide)


@permission_required_action("iam:accessRequests:deny")
def access_request_deny(request, pk: int):
    def decide(access_request, data):
        done = service.deny(actor=request.user, access_request=access_request, reason=data["reason"])
        return gettext("Denied %(user)s's request for %(what)s; they are told why.") % {
            "user": done.requester.get_username(), "what": done.what}

    return _decision_page(request, pk, "deny", DenyForm, decide)


@login_only
def access_request_badge(request):
    """The top bar's badge: how many pending requests this person could decide (a fixed number of queries)."""
    return render(request, "iam/access_requests/_badge.html", {"count": selectors.pending_count_for(request.user)})


# Included by accounts/iam_urls.py under /iam/ (namespace "iam").
urlpatterns = [
    path("access-requests/", access_request_list, name="access-request-list"),
    path("access-requests/new/", access_request_new, name="access-request-new"),
    path("access-requests/badge/", access_request_badge, name="access-request-badge"),
    path("access-requests/mine/", access_request_mine, name="access-request-mine"),
    path("access-requests/<int:pk>/approve/", access_request_approve, name="access-request-approve"),
    path("access-requests/<int:pk>/deny/", access_request_deny, name="access-request-deny"),
]
