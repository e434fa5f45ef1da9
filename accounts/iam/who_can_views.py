"""Who can: every user allowed (or explicitly denied) one action in a project, and what a group or a
policy allows across every project. Answers come from accounts.who_can, i.e. from the engine.

Seeing who can means reading users, their groups and their grants: the pages need the IAM read
actions iam:users:listUsers and iam:permissions:listPermissions. The grid of a policy needs the latter
only, but shows where the policy is attached (so to whom) only to a reader holding both
(who_can.may_see_names, asked by every page that names holders); the grid of a group needs both.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts import permission_grid, who_can
from accounts.enforcement import record_refusal
from accounts.models import Policy, UserGroup
from accounts.permissions import permission_required_action
from accounts.policy.messages import Message, gettext_noop
from accounts.selectors import all_projects

from .policy_forms import WhoCanForm

WHO_CAN_ACTIONS = who_can.NAMES_ACTIONS  # what naming who holds what needs, on every page (who_can.may_see_names)
GRID_ACTION = "iam:permissions:listPermissions"
PAGE_SIZE = 100  # users listed per page: the answer is computed whole, its reasons are rendered per page


def who_can_context(request, *, image=None, project=None) -> tuple[dict, int]:
    """The who-can form and answer (for a project, or for an image seen from `project`)."""
    submitted = "action" in request.GET
    form = WhoCanForm(request.GET if submitted else None, fixed_project=project if image is not None else None)
    context = {"form": form, "answer": None, "image": image, "image_project": project, "tab": "who-can"}
    if not submitted:
        return context, 200
    if not form.is_valid():
        return context, 422
    where = project if image is not None else form.cleaned_data.get("project")
    answer = who_can.who_can(form.cleaned_data["action"], where, image)
    allowed_page = ListPage.of(request, answer.allowed, "page")
    denied_page = ListPage.of(request, answer.denied, "denied_page")
    context.update(answer=answer, allowed_page=allowed_page, denied_page=denied_page,
                   allowed_rows=_rows(allowed_page), denied_rows=_rows(denied_page))
    return context, 200


@dataclass(frozen=True)
class ListPage:
    """One page of a list held in memory, as partials/pager.html draws a keyset page (accounts.paging):
    its number and range, and links to its neighbours (this URL with `param` set to their number)."""

    rows: list
    number: int
    pages: int
    first_index: int
    last_index: int
    count: int
    previous_page_url: str
    next_page_url: str

    @classmethod
    def of(cls, request, items: list, param: str, size: int = PAGE_SIZE) -> ListPage:
        page = Paginator(items, size).get_page(request.GET.get(param))

        def link(number: int) -> str:
            query = request.GET.copy()
            query[param] = number
            return f"?{query.urlencode()}"

        return cls(rows=list(page), number=page.number, pages=page.paginator.num_pages,
                   first_index=page.start_index(), last_index=page.end_index(), count=page.paginator.count,
                   previous_page_url=link(page.previous_page_number()) if page.has_previous() else "",
                   next_page_url=link(page.next_page_number()) if page.has_next() else "")

    def __iter__(self):
        return iter(self.rows)

    @property
    def count_label(self) -> str:
        return str(self.count)


def _rows(page) -> list[tuple]:
    """(member, the engine's reasons as sentences, missing keys) for one page of users: the sentences
    are the engine's own (authz.Reason), built for the shown users only."""
    return [(member, [str(reason) for reason in explanation.reasons], sorted(explanation.missing_keys))
            for member, explanation in page]


@permission_required_action(*WHO_CAN_ACTIONS)
@require_GET
def who_can_page(request):
    """Who may do this action in this project, and why; who is explicitly denied it."""
    context, status = who_can_context(request)
    return render(request, "iam/whocan/who_can.html", context, status=status)


def _subject(request):
    """The group or policy named by ?group= or ?policy= (ids), or None; 404 for one that does not exist."""
    for name, model in (("group", UserGroup), ("policy", Policy)):
        value = request.GET.get(name, "").strip()
        if value:
            if not value.isdigit():
                raise Http404(f"No {name} with the id {value!r}.")
            found = model.objects.filter(pk=int(value)).first()
            if found is None:
                raise Http404(f"No {name} with the id {value}.")
            return name, found
    return None, None


@permission_required_action(GRID_ACTION)
@require_GET
def grant_grid(request):
    """What a group (as a member of it alone would be) or a policy (where it is attached) allows,
    every IMS action in every project: the simulator's effective-permissions grid."""
    kind, subject = _subject(request)
    names = who_can.may_see_names(request.authorization)
    if kind == "group" and not names:
        _refuse_names(request, subject)
    projects = all_projects(request)
    context = {"kind": kind, "subject": subject, "projects": projects, "tab": "grid", "names_shown": names,
               "groups": UserGroup.objects.order_by("name").values_list("pk", "name") if names else (),
               "policies": Policy.objects.order_by("name").values_list("pk", "name")}
    if kind == "group":
        authorization = who_can.group_authorization(subject)
        context.update(rows=permission_grid.authorization_grid(authorization, projects), rules=authorization.rules,
                       is_admin=authorization.is_admin, attached=True)
    elif kind == "policy":
        authorization, attached = who_can.policy_authorization(subject, holders=names)
        context.update(rows=permission_grid.authorization_grid(authorization, projects), rules=authorization.rules,
                       is_admin=False, attached=attached)
    return render(request, "iam/whocan/grid.html", context)


def _names_refusal() -> Message:
    """Why names are refused: English, worded so that it reads in the reader's language (the action names
    verbatim), on the 403 and in the audit log."""
    actions = WHO_CAN_ACTIONS[0]
    for action in WHO_CAN_ACTIONS[1:]:
        actions = Message(gettext_noop("%(first)s and %(second)s"), first=actions, second=action)
    return Message(gettext_noop("Seeing what a group holds, and who holds what, needs what who-can needs: "
                                "%(actions)s."), actions=actions)


def _refuse_names(request, subject) -> None:
    """403, audited: a page that would say who holds what, for a reader who may not see it."""
    missing = next((a for a in WHO_CAN_ACTIONS if not request.authorization.allows(a)), WHO_CAN_ACTIONS[0])
    refusal = _names_refusal()
    record_refusal(request.user, missing, message=refusal, target=subject,
                   details={"method": request.method, "path": request.path})
    raise PermissionDenied(refusal)  # a Message: the 403 page reads it in the person's language
