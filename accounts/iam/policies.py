"""Policy pages: the list, a policy's detail, the two-mode editor (create, edit), clone and delete.

Every page asks the policy engine first (the iam:roles actions; custom policies are "roles" in
the cloud's API) and every write goes through accounts.services, so Django admin, commands and
these pages share one set of rules and audit events.
"""

import functools

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext, gettext_lazy, gettext_noop, ngettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import impact, least_privilege, responses, services, who_can
from accounts.enforcement import Refused
from accounts.findings import localized
from accounts.forms import add_service_errors
from accounts.models import Grant, Policy
from accounts.paging import CURSOR_PARAM, keyset_page
from accounts.permissions import permission_required_action
from accounts.policy import validate_text
from accounts.policy.locate import LocateError
from accounts.policy.locate import parse as parse_json
from accounts.selectors import search_text

from . import last_used
from .dependency_picture import dependency_picture
from .directory_selectors import PAGE_SIZE, POLICY_SORT, policies_matching
from .form_views import delete_page, form_page
from .policy_forms import CloneForm, PolicyForm
from .sorting import clean_query
from .visual_editor import (
    CONDITION_KEY_NAMES,
    EFFECTS,
    OPERATOR_GROUPS,
    SERVICE_LABELS,
    NotRepresentable,
    VisualStatement,
    action_groups,
    apply_operation,
    document_from_statements,
    document_text,
    service_wildcard,
    statements_from_document,
    statements_from_post,
)

KIND_FILTERS = {
    "role": (gettext_lazy("System roles"), Q(kind=Policy.Kind.ROLE)),
    "system": (gettext_lazy("System policies"), Q(kind=Policy.Kind.POLICY, is_system=True)),
    "custom": (gettext_lazy("Custom policies"), Q(is_system=False)),
}
TIER_ORDER = ("error", "warning", "suggestion")
BLANK_DOCUMENT = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": []}]}


# The editor's helper endpoints serve whoever may modify or create custom policies.
EDITOR_ACTIONS = ("iam:roles:updateRole", "iam:roles:createRole")


def _allowed(request, action: str) -> bool:
    return request.authorization.allows(action)


class SystemPolicy(Exception):
    """A system-defined policy was asked to change: a state rule (409), not a permission (403)."""

    # One whole sentence for each refused change, the policy's name verbatim.
    SENTENCES = {
        "edited": gettext_noop("%(name)s is system-defined: it cannot be edited. Clone it to make a custom policy "
                               "you can change."),
        "deleted": gettext_noop("%(name)s is system-defined: it cannot be deleted. Clone it to make a custom "
                                "policy you can change."),
        "restored": gettext_noop("%(name)s is system-defined: it cannot be restored. Clone it to make a custom "
                                 "policy you can change."),
        "edited, so it has no history": gettext_noop("%(name)s is system-defined: it cannot be edited, so it has no "
                                                     "history. Clone it to make a custom policy you can change."),
    }

    def __init__(self, policy: Policy, action_word: str):
        super().__init__(gettext(self.SENTENCES[action_word]) % {"name": policy.name})
        self.policy = policy


def _custom_policy(pk, action_word: str) -> Policy:
    policy = get_object_or_404(Policy, pk=pk)
    if policy.is_system:
        raise SystemPolicy(policy, action_word)
    return policy


def _refuse_system_policy(view):
    """Answer a SystemPolicy with the 409 page (the policy's own page is the way back)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except SystemPolicy as refusal:
            return responses.conflict(request, str(refusal), back_url=refusal.policy.get_absolute_url(),
                                   back_label=gettext("Back to %(name)s") % {"name": refusal.policy.name})

    return wrapper


# --- list and detail ---------------------------------------------------------------------


@permission_required_action("iam:roles:listRoles")
@require_GET
def policy_list(request):
    """System roles, system policies and custom policies, filtered by kind, searched by text and sorted by any
    column (all in the URL), a page at a time."""
    kind = request.GET.get("kind", "")
    kind = kind if kind in KIND_FILTERS else ""
    query = search_text(request)
    policies = policies_matching(kind_filter=KIND_FILTERS[kind][1] if kind else None, text=query)
    sort = POLICY_SORT.chosen(request.GET)
    page = keyset_page(policies, POLICY_SORT.order(sort), size=PAGE_SIZE, cursor=request.GET.get(CURSOR_PARAM, ""))
    context = {
        "page": page,
        "sort": sort,
        "headers": POLICY_SORT.headers(request, sort),
        "kind": kind,
        "kinds": [(key, label, clean_query(request.GET, kind=key, cursor=""))
                  for key, (label, _) in KIND_FILTERS.items()],
        "all_kinds": clean_query(request.GET, kind="", cursor=""),
        "query": query,
        "can_create": _allowed(request, "iam:roles:createRole"),
    }
    if request.htmx and request.htmx.target == "policy-results":
        return render(request, "iam/policies/list.html#results", context)
    return render(request, "iam/policies/list.html", context)


@permission_required_action("iam:roles:getRole")
@require_GET
def policy_detail(request, pk):
    """A role or policy: its document, dependencies, the groups it is attached to, and its actions."""
    policy = get_object_or_404(Policy.objects.prefetch_related("depends_on", "dependents"), pk=pk)
    names = who_can.may_see_names(request.authorization)  # which groups hold it: else how many
    grants = list(Grant.objects.filter(policy=policy).select_related("group").prefetch_related("projects"))
    uses = least_privilege.by_grant(grant.pk for grant in grants) if names else {}
    context = {
        "policy": policy,
        "document": document_text(policy.document),
        "grants": grants,
        "names_shown": names,
        "holder_count": len({grant.group_id for grant in grants}),
        "last_used": [(grant, uses.get(grant.pk, {})) for grant in grants] if names else [],
        "can_edit": policy.is_custom and _allowed(request, "iam:roles:updateRole"),
        "can_delete": policy.is_custom and _allowed(request, "iam:roles:deleteRole"),
        "can_clone": _allowed(request, "iam:roles:createRole"),
        "can_see_grid": _allowed(request, "iam:permissions:listPermissions"),
        "picture": dependency_picture([policy]) if policy.kind == Policy.Kind.ROLE else None,
    }
    return render(request, "iam/policies/detail.html", context)


# --- the editor ----------------------------------------------------------------------------


def _gutter(text: str, result) -> list[tuple[int, str]]:
    """(line number, worst finding tier on it or "") for every line of the JSON text."""
    rank = {tier: position for position, tier in enumerate(TIER_ORDER)}
    worst: dict[int, str] = {}
    for finding in result.findings if result else ():
        current = worst.get(finding.line)
        if finding.line is not None and (current is None or rank[finding.tier] < rank[current]):
            worst[finding.line] = finding.tier
    return [(number, worst.get(number, "")) for number in range(1, text.count("\n") + 2)]


def _findings_by_tier(result) -> list[tuple[str, list]]:
    if result is None:
        return []
    return [(tier, [f for f in result.findings if f.tier == tier]) for tier in TIER_ORDER]


def _visual_rows(statements: list[VisualStatement]) -> list[dict]:
    return [
        {
            "index": index,
            "statement": statement,
            "groups": action_groups(statement.service),
            "service_wildcard": service_wildcard(statement.service),
            "checked": set(statement.actions),
            "conditions": list(enumerate(statement.conditions)),
        }
        for index, statement in enumerate(statements)
    ]


def editor_context(*, mode: str, text: str, statements=None, notice: str = "", show_findings: bool = True) -> dict:
    """Everything the editor partial needs, for either mode; findings always refer to `text`."""
    result = validate_text(text) if show_findings else None
    return {
        "mode": mode,
        "text": text,
        "visual": _visual_rows(statements or []),
        "visual_count": len(statements or []),
        "notice": notice,
        "result": result,
        "findings": _findings_by_tier(result),
        "gutter": _gutter(text, result),
        "effects": EFFECTS,
        "services": SERVICE_LABELS.items(),
        "operator_groups": OPERATOR_GROUPS,
        "condition_keys": CONDITION_KEY_NAMES,
    }


def _editor_for_document(document, *, prefer: str = "visual", show_findings: bool = True) -> dict:
    """Open a stored document in the visual editor when it fits, else in JSON saying why."""
    text = document_text(document)
    if prefer == "visual":
        try:
            statements = statements_from_document(document)
        except NotRepresentable as reason:
            notice = gettext("This policy opens in JSON because %(reason)s.") % {"reason": reason}
            return editor_context(mode="json", text=text, notice=notice, show_findings=show_findings)
        return editor_context(mode="visual", text=text, statements=statements, show_findings=show_findings)
    return editor_context(mode="json", text=text, show_findings=show_findings)


def _posted_editor(data) -> tuple[str, str, list[VisualStatement] | None]:
    """The posted editor as (mode, JSON text, visual statements or None)."""
    if data.get("mode") == "visual":
        statements = statements_from_post(data)
        return "visual", document_text(document_from_statements(statements)), statements
    return "json", data.get("document", ""), None


def _render_editor_page(request, *, form, policy, editor: dict, status: int = 200, conflict=None):
    context = {"form": form, "policy": policy, "conflict": conflict, **editor}
    if conflict is not None:
        context["conflict_text"] = document_text(conflict.document)
    return render(request, "iam/policies/edit.html", context, status=status)


def _save(request, policy: Policy | None):
    """Validate and save the posted editor; on any problem show the editor again with nothing lost."""
    mode, text, statements = _posted_editor(request.POST)
    data = request.POST.copy()
    data["document"] = text
    form = PolicyForm(data)
    editor = editor_context(mode=mode, text=text, statements=statements)
    if not form.is_valid():
        return _render_editor_page(request, form=form, policy=policy, editor=editor, status=422)
    values = form.cleaned_data
    try:
        if policy is None:
            saved = services.policy_create(actor=request.user, name=values["name"],
                                           description=values["description"], document=text)
        else:
            saved = services.policy_update(actor=request.user, policy=policy, name=values["name"],
                                           description=values["description"], document=text,
                                           expected_revision=values["revision"] or 0)
    except services.ConcurrentEditError as conflict:
        current = Policy.objects.get(pk=policy.pk)
        data["revision"] = current.revision
        form = PolicyForm(data)
        form.is_valid()
        form.add_error(None, conflict)
        return _render_editor_page(request, form=form, policy=policy, editor=editor, status=409, conflict=current)
    except ValidationError as error:
        add_service_errors(form, error)
        return _render_editor_page(request, form=form, policy=policy, editor=editor, status=422)
    except Refused as refused:  # audited by the service; the editor keeps the text
        form.add_error(None, str(refused))
        return _render_editor_page(request, form=form, policy=policy, editor=editor, status=403)
    messages.success(request, (gettext("Saved %(name)s (revision %(revision)s).")
                               % {"name": saved.name, "revision": saved.revision}))
    return redirect(saved)


@permission_required_action("iam:roles:createRole")
@require_http_methods(["GET", "POST"])
def policy_create(request):
    """A new custom policy, written in the visual editor or as JSON; `?suggest=<grant>` starts from the
    unused-permissions report's least-privilege document."""
    if request.method == "POST":
        return _save(request, None)
    initial = last_used.suggestion_for(request) or {"document": BLANK_DOCUMENT}
    form = PolicyForm(initial=initial)
    editor = _editor_for_document(initial["document"], prefer=request.GET.get("mode", "visual"),
                                  show_findings=False)
    return _render_editor_page(request, form=form, policy=None, editor=editor)


@permission_required_action("iam:roles:updateRole")
@require_http_methods(["GET", "POST"])
@_refuse_system_policy
def policy_edit(request, pk):
    """Edit a custom policy; the form carries the revision it loaded so a newer save is never overwritten."""
    policy = _custom_policy(pk, "edited")
    if request.method == "POST" and request.POST.get("preview") == "1":
        return _edit_impact(request, policy)
    if request.method == "POST":
        return _save(request, policy)
    form = PolicyForm(initial={"name": policy.name, "description": policy.description,
                               "document": policy.document, "revision": policy.revision})
    editor = _editor_for_document(policy.document, prefer=request.GET.get("mode", "visual"))
    return _render_editor_page(request, form=form, policy=policy, editor=editor)


def _edit_impact(request, policy: Policy):
    """Who gains and who loses if the editor's document is saved (htmx, as it is typed): the engine's
    decisions before and after, as a restore's review shows them. Nothing is saved; the save decides again."""
    _mode, text, _statements = _posted_editor(request.POST)
    result = validate_text(text)
    context = {"policy": policy, "invalid": not result.ok}
    if result.ok:
        context.update(impact.for_page(request.authorization, impact.document_impact(policy, result.document)))
    return render(request, "iam/policies/edit.html#impact", context)


@permission_required_action(*EDITOR_ACTIONS, any_of=True)
@require_POST
def policy_editor(request):
    """Switch editors or add/remove a visual row, converting on the server so nothing is lost.

    JSON to visual happens only when the document fits the visual editor; otherwise the text
    stays in JSON and the notice says why.
    """
    target = request.POST.get("to", "")
    mode, text, statements = _posted_editor(request.POST)
    notice = ""
    if mode == "visual":
        statements = apply_operation(statements, request.POST.get("visual-op", ""))
        text = document_text(document_from_statements(statements))
        if target == "json":
            mode = "json"
    elif target == "visual":
        try:
            statements = statements_from_document(parse_json(text).value)
            mode = "visual"
        except LocateError as error:
            notice = gettext("The JSON is not valid yet (line %(line)s, column %(column)s: %(problem)s); fix it, "
                             "then switch to the visual editor.") % {
                "line": error.line, "column": error.column, "problem": localized(error.message)}
        except NotRepresentable as reason:
            notice = gettext("This policy stays in JSON because %(reason)s.") % {"reason": reason}
    editor = editor_context(mode=mode, text=text, statements=statements, notice=notice)
    return render(request, "iam/policies/edit.html#editor", editor)


@permission_required_action(*EDITOR_ACTIONS, any_of=True)
@require_POST
def policy_validate(request):
    """The validator's findings for the editor's current text (htmx, as the user types)."""
    mode, text, statements = _posted_editor(request.POST)
    editor = editor_context(mode=mode, text=text, statements=statements)
    editor["after_refusal"] = request.POST.get("not_saved") == "1"  # the page shows "Not saved"
    return render(request, "iam/policies/validation.html", editor)


# --- clone and delete ----------------------------------------------------------------------


@permission_required_action("iam:roles:createRole")
@require_http_methods(["GET", "POST"])
def policy_clone(request, pk):
    """Copy a role or policy into a new custom policy, to adapt it."""
    source = get_object_or_404(Policy, pk=pk)
    name = f"{source.name} (copy)"[: Policy._meta.get_field("name").max_length]
    form = CloneForm(request.POST if request.method == "POST" else None,
                     initial={"name": name, "description": source.description})

    def save(data):
        copy = services.policy_clone(actor=request.user, source=source, name=data["name"],
                                     description=data["description"])
        return gettext("Created %(name)s, a copy of %(source)s.") % {"name": copy.name, "source": source.name}, copy

    return form_page(request, form, save, template="iam/policies/clone.html", context={"source": source})


@permission_required_action("iam:roles:deleteRole")
@require_http_methods(["GET", "POST"])
@_refuse_system_policy
def policy_delete(request, pk):
    """Delete a custom policy after confirmation; refused while a group holds it."""
    policy = _custom_policy(pk, "deleted")
    names = who_can.may_see_names(request.authorization)  # which groups hold it: else how many

    def delete():
        try:
            services.policy_delete(actor=request.user, policy=policy)
        except ValidationError as error:
            holders = Grant.objects.filter(policy=policy).values("group").distinct().count()
            if names or not holders:
                raise
            raise ValidationError(ngettext_lazy("%(name)s is attached to %(holders)s group: detach it first.",
                                                "%(name)s is attached to %(holders)s groups: detach it first.",
                                                holders),
                                  params={"name": policy.name, "holders": holders}) from error
        return gettext("Deleted %(name)s.") % {"name": policy.name}

    def context():
        groups = sorted({grant.group.name for grant in Grant.objects.filter(policy=policy).select_related("group")})
        return {"policy": policy, "groups": groups if names else [], "holder_count": len(groups),
                "names_shown": names}

    return delete_page(request, policy, delete, done="iam:policy-list", template="iam/policies/delete.html",
                       context=context)
