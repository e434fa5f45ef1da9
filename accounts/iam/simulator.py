"""The policy simulator: decide requests for a user (or a pasted policy), and a user's effective grid.

A user's requests go through the same authorization service as every page, so the simulator
cannot disagree with the console; a pasted policy is compiled and evaluated directly by the
policy language, with the same request keys the console would supply.
"""

from datetime import UTC, datetime

from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from accounts import authz, mfa, permission_grid, who_can
from accounts.models import User
from accounts.permissions import permission_required_action
from accounts.policy import SERVICES, compile_document, evaluate, get_action
from accounts.selectors import SESSION_PROJECT_KEY, all_projects

from .policy_forms import SimulatorForm
from .visual_editor import document_text

PASTED = "pasted policy"
LIST_PERMISSIONS = "iam:permissions:listPermissions"


def _is_global(action: str) -> bool:
    return SERVICES[get_action(action).service].is_global


def _mfa_note(keys_read, context: dict) -> dict | None:
    """For a decision that reads g:MFAPresent or g:MFAAge: the values it was decided with."""
    if not mfa.MFA_CONDITION_KEYS & set(keys_read):
        return None
    lowered = {str(key).lower(): value for key, value in context.items()}
    present = lowered.get("g:mfapresent", False)
    return {"present": str(present).lower() if isinstance(present, str) else ("true" if present else "false"),
            "age": lowered.get("g:mfaage")}


def _simulate_user(user, actions, project, extra) -> list[dict]:
    authorization = authz.authorization_for(user)
    rules = {rule.grant_id: rule for rule in authorization.rules}
    policy_ids = {rule.policy_name: rule.policy_id for rule in authorization.rules}
    results = []
    for action in actions:
        where = None if _is_global(action) else project
        explanation = authorization.decide(action, where, context=extra)
        reasons = []
        for reason in explanation.reasons:
            rule = rules.get(reason.grant_id)
            statement = rule.document["Statement"][reason.statement_index] if rule else None
            reasons.append({
                "group": reason.group_name, "grant": reason.grant_id, "policy": reason.policy_name,
                "policy_id": policy_ids.get(reason.policy_name), "kind": reason.policy_kind,
                "statement": reason.statement_index, "effect": reason.effect, "scope": reason.scope,
                "statement_text": document_text(statement) if statement else "",
            })
        results.append({"action": action, "project": getattr(where, "name", None), "outcome": explanation.outcome,
                         "summary": explanation.summary, "reasons": reasons,
                         "missing_keys": sorted(explanation.missing_keys),
                         "mfa": _mfa_note(authorization.condition_keys_read(action, where),
                                          {**authorization.request_context, **extra})})
    return results


def _simulate_document(document: dict, actions, project, extra, *, requester) -> list[dict]:
    """Decide as if the pasted policy were granted to the requester, with the keys their request supplies."""
    compiled = [(PASTED, compile_document(document))]
    now = datetime.now(UTC)
    results = []
    for action in actions:
        where = None if _is_global(action) else project
        request_context = authz.build_request_context(
            action, user_id=requester.pk, username=requester.get_username(), project=where, now=now,
            request_keys=authz.request_keys.get(), extra=extra,
        )
        decision = evaluate(compiled, action, request_context)
        reasons = [
            {"group": "", "grant": None, "policy": PASTED, "policy_id": None, "kind": "", "statement": index,
             "effect": document["Statement"][index]["Effect"], "scope": "",
             "statement_text": document_text(document["Statement"][index])}
            for _, index in decision.matched
        ]
        summary = {
            "allow": gettext("Allowed by the pasted policy."),
            "explicit_deny": gettext("Denied explicitly by the pasted policy."),
            "implicit_deny": gettext("Denied: no statement of the pasted policy allows %(action)s (implicit deny).")
            % {"action": action},
        }[decision.outcome]
        keys_read = {name for statement in compiled[0][1].statements_for(action)
                     for name in statement.key_names.values()}
        results.append({"action": action, "project": getattr(where, "name", None), "outcome": decision.outcome,
                        "summary": summary, "reasons": reasons, "missing_keys": sorted(decision.missing_keys),
                        "mfa": _mfa_note(keys_read, request_context)})
    return results


# Apps above accounts (images) offer things to simulate on: `source(user, project) -> [(label, context text)]`.
# Accounts never imports them; the images app registers its source when it is ready.
IMAGE_SOURCES: list = []
IMAGE_CHOICES = 50  # the picker lists this many images of the project, by name


def _image_choices(user, project) -> list[tuple[str, str]]:
    if project is None:
        return []
    return [choice for source in IMAGE_SOURCES for choice in source(user, project, limit=IMAGE_CHOICES)]


def _action_groups(form) -> list[tuple[str, list]]:
    """The action checkboxes grouped by service and resource type ("IMS · images"), in catalogue order."""
    groups: dict[str, list] = {}
    for box in form["actions"]:
        service, resource, _ = box.data["value"].split(":")
        groups.setdefault(f"{service.upper()} · {resource}", []).append(box)
    return list(groups.items())


@permission_required_action(LIST_PERMISSIONS)
@require_GET
def simulator(request):
    """Decide chosen actions in a project for a user or a pasted policy, each decision explained."""
    submitted = "actions" in request.GET or "subject" in request.GET
    # A first visit starts from the project the user works in (the image browser's) and from themselves.
    initial = {"project": request.session.get(SESSION_PROJECT_KEY) or None, "user": request.user.username}
    form = SimulatorForm(request.GET if submitted else None, initial=initial)
    if not who_can.may_see_names(request.authorization):  # other users by name: who-can's permissions
        form.fields["user"].queryset = User.objects.filter(pk=request.user.pk)
    results, validation, status = None, None, 200
    if submitted:
        if form.is_valid():
            data = form.cleaned_data
            if data["subject"] == "user":
                results = _simulate_user(data["user"], data["actions"], data["project"], data["context"])
            else:
                results = _simulate_document(data["validation"].document, data["actions"], data["project"],
                                             data["context"], requester=request.user)
        else:
            status = 422
        validation = form.cleaned_data.get("validation")
    project = form.cleaned_data.get("project") if form.is_bound else None
    if project is None and not form.is_bound and initial["project"]:
        project = next((p for p in all_projects(request) if p.name == initial["project"]), None)
    context = {"form": form, "results": results, "validation": validation, "tab": "simulate",
               "action_groups": _action_groups(form), "image_choices": _image_choices(request.user, project),
               "image_project": project}
    return render(request, "iam/simulator/simulator.html", context, status=status)


@permission_required_action(LIST_PERMISSIONS)
@require_GET
def effective_permissions(request):
    """What can this user do: every IMS action in every project, each cell explained."""
    username = request.GET.get("user", "").strip()
    # Naming other users and what they hold needs who-can's permissions; without them, only oneself.
    users = User.objects.order_by("username")
    if not who_can.may_see_names(request.authorization):
        users = users.filter(pk=request.user.pk)
    subject = None
    if username:
        subject = users.filter(username=username).first()
        if subject is None:
            raise Http404(gettext("No user named %(name)s that you may see.") % {"name": username})
    projects = all_projects(request)
    context = {
        "users": users.values_list("username", flat=True),
        "subject": subject,
        "projects": projects,
        "tab": "effective",
    }
    if subject is not None:
        authorization = authz.authorization_for(subject)
        context["rows"] = permission_grid.ims_grid(subject, projects)
        context["rules"] = authorization.rules
        context["is_admin"] = authorization.is_admin
    return render(request, "iam/simulator/effective.html", context)
