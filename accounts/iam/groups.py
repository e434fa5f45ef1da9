"""IAM user groups: list, create, edit, delete, members, and the Permissions tab with attach and detach."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from accounts import impact, least_privilege, services
from accounts.forms import add_service_errors
from accounts.models import MAX_GROUPS_PER_USER, Policy, User, UserGroup
from accounts.paging import CURSOR_PARAM, keyset_page
from accounts.permissions import permission_required_action
from accounts.selectors import search_text
from accounts.services import escalation

from .change_review import review_page
from .dependency_picture import dependency_picture
from .directory_forms import AttachForm, DetachForm, GroupEditForm, GroupForm, MemberForm
from .directory_selectors import (
    GROUP_SORT,
    PAGE_SIZE,
    attachable_policies,
    capabilities,
    group_grants,
    group_members,
    groups_matching,
    membership_candidates,
    projects_by_region,
)
from .form_views import delete_page, form_page


@permission_required_action("iam:groups:listGroups")
def group_list(request):
    """Groups searched by name or description and sorted by any column (all in the URL)."""
    text = search_text(request)
    sort = GROUP_SORT.chosen(request.GET)
    page = keyset_page(groups_matching(text=text), GROUP_SORT.order(sort), size=PAGE_SIZE,
                       cursor=request.GET.get(CURSOR_PARAM, ""))
    context = {"page": page, "q": text, "can": capabilities(request), "sort": sort,
               "headers": GROUP_SORT.headers(request, sort)}
    if request.htmx and request.htmx.target == "group-results":
        return render(request, "iam/groups/list.html#results", context)
    return render(request, "iam/groups/list.html", context)


@permission_required_action("iam:groups:createGroup")
def group_create(request):
    def save(data):
        group = services.group_create(actor=request.user, **data)
        created = gettext("Group %(name)s created. Add members and attach permissions below.")
        return created % {"name": group.name}, group

    return form_page(request, GroupForm(request.POST or None), save, template="iam/groups/form.html",
                     context={"creating": True})


@permission_required_action("iam:groups:getGroup")
def group_detail(request, pk):
    """The Members tab: members with remove buttons, and a searchable list of users to add."""
    group = get_object_or_404(UserGroup, pk=pk)
    can = capabilities(request)
    members = group_members(group)
    if can["removeUserFromGroup"]:
        escalation.mark_admin_accounts(request.user, members)
    context = {"group": group, "members": members, "can": can, "tab": "members",
               "edit_refusal": escalation.admin_group_refusal(request.user, group),
               "add_refusal": escalation.membership_refusal(request.user, group) if can["addUserToGroup"] else None,
               "remove_refusal": escalation.removal_refusal(request.user, group)}
    return render(request, "iam/groups/detail.html", context)


@permission_required_action("iam:groups:addUserToGroup")
def group_candidates(request, pk):
    """Users who could join the group, matching the search box (an htmx fragment)."""
    group = get_object_or_404(UserGroup, pk=pk)
    text = search_text(request)
    candidates = membership_candidates(group, text)
    escalation.mark_admin_accounts(request.user, candidates)
    context = {"group": group, "candidates": candidates, "q": text,
               "max_groups": MAX_GROUPS_PER_USER}
    return render(request, "iam/groups/detail.html#candidates", context)


@permission_required_action("iam:groups:addUserToGroup")
@require_http_methods(["GET", "POST"])
def group_member_add(request, pk):
    """GET ?user=N: the review (who gains what); POST: add the member."""
    group = get_object_or_404(UserGroup, pk=pk)
    form = MemberForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        if request.method != "POST":
            raise Http404("Choose a user to add.")
        messages.error(request, gettext("Choose a user to add."))
        return redirect(group)
    if request.method != "POST":
        return membership_review(request, group=group, user=form.cleaned_data["user"], add=True,
                                 back_url=group.get_absolute_url())
    change_membership(request, group=group, user=form.cleaned_data["user"], add=True)
    return redirect(group)


@permission_required_action("iam:groups:removeUserFromGroup")
@require_http_methods(["GET", "POST"])
def group_member_remove(request, pk, user_pk):
    """GET: the review (who loses what); POST: remove the member."""
    group = get_object_or_404(UserGroup, pk=pk)
    user = get_object_or_404(User, pk=user_pk)
    if request.method != "POST":
        return membership_review(request, group=group, user=user, add=False, back_url=group.get_absolute_url())
    change_membership(request, group=group, user=user, add=False)
    return redirect(group)


def membership_review(request, *, group, user, add: bool, back_url: str):
    """What adding `user` to `group` (or removing them) changes, before it is done (both pages use it)."""
    refusal = (escalation.membership_refusal(request.user, group) if add
               else escalation.removal_refusal(request.user, group))
    refusal = refusal or escalation.admin_account_refusal(request.user, user)
    question = f"Add {user.username} to {group.name}?" if add else f"Remove {user.username} from {group.name}?"
    return review_page(request, impact.membership_impact(group, user, add=add), question=question,
                       button="Add" if add else "Remove", back_url=back_url, refusal=refusal, danger=not add,
                       data_action="iam:groups:addUserToGroup" if add else "iam:groups:removeUserFromGroup")


def change_membership(request, *, group, user, add: bool) -> None:
    """Add or remove a member through the services; the outcome becomes a message (both pages use it)."""
    try:
        if add:
            services.group_add_member(actor=request.user, group=group, user=user)
        else:
            services.group_remove_member(actor=request.user, group=group, user=user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        done = gettext("%(user)s added to %(group)s.") if add else gettext("%(user)s removed from %(group)s.")
        messages.success(request, done % {"user": user.username, "group": group.name})


@permission_required_action("iam:groups:updateGroup")
def group_edit(request, pk):
    """Name and description; a form older than the last save answers 409 beside the values saved
    meanwhile. Only admin members edit the admin group (its name never changes)."""
    group = get_object_or_404(UserGroup, pk=pk)
    refusal = escalation.admin_group_refusal(request.user, group)
    if refusal:
        escalation.refuse_page(request.user, "iam:groups:updateGroup", refusal, target=group)
    form = GroupEditForm(request.POST or None, initial={"name": group.name, "description": group.description,
                                                        "revision": group.revision})
    if group.is_builtin:
        form.fields["name"].disabled = True
        form.fields["name"].help_text = gettext("The built-in admin group cannot be renamed.")

    def save(data):
        services.group_update(actor=request.user, group=group, name=data["name"], description=data["description"],
                              expected_revision=data["revision"])
        return gettext("Group %(name)s saved.") % {"name": group.name}, group

    return form_page(request, form, save, template="iam/groups/form.html", context={"group": group},
                     stale_as="group", stale_fields=("name", "description"))


@permission_required_action("iam:groups:deleteGroup")
def group_delete(request, pk):
    group = get_object_or_404(UserGroup, pk=pk)

    def delete():
        services.group_delete(actor=request.user, group=group)
        return gettext("Group %(name)s deleted.") % {"name": group.name}

    return delete_page(request, group, delete, done="iam:group-list", template="iam/groups/confirm_delete.html",
                       context=lambda: {"group": group, "members": group_members(group), "grants": group_grants(group),
                                        "refusal": escalation.deletion_refusal(request.user, group),
                                        **impact.for_page(request.authorization, impact.group_delete_impact(group))})


def _needed_by(grants) -> dict[int, list[Policy]]:
    """For each attached policy id, the attached roles that depend on it directly."""
    attached = {grant.policy_id for grant in grants}
    needed: dict[int, list[Policy]] = {}
    for grant in grants:
        for dependency in grant.policy.depends_on.all():
            if dependency.pk in attached:
                needed.setdefault(dependency.pk, []).append(grant.policy)
    return needed


@permission_required_action("iam:permissions:listPermissions", "iam:groups:getGroup")
def group_permissions(request, pk):
    """The Permissions tab: each grant with its scope and the roles that need it."""
    group = get_object_or_404(UserGroup, pk=pk)
    grants = group_grants(group)
    needed = _needed_by(grants)
    can = capabilities(request)
    rows = [{"grant": grant, "needed_by": needed.get(grant.policy_id, []),
             "detach_refusal": escalation.handover_refusal(
                 request.user, escalation.lifted_by_removing([grant]), doing=escalation.detaching(grant.policy.name))
             if can["revokePermission"] else None}
            for grant in grants]
    uses = least_privilege.by_grant(grant.pk for grant in grants)
    for row in rows:
        row["last_used"] = uses.get(row["grant"].pk, {})
    context = {"group": group, "rows": rows, "can": can, "tab": "permissions",
               "edit_refusal": escalation.admin_group_refusal(request.user, group)}
    return render(request, "iam/groups/permissions.html", context)


def _attach_context(request, group, form, selected_policies, selected_projects):
    return {
        "group": group,
        "form": form,
        "sections": attachable_policies(),
        "regions": projects_by_region(request),
        "selected_policies": {str(pk) for pk in selected_policies},
        "selected_projects": {str(pk) for pk in selected_projects},
        "scope": (form.data.get("scope") if form.is_bound else form.initial.get("scope")) or AttachForm.SCOPE_PROJECTS,
        "attached": set(group.grants.values_list("policy_id", flat=True)),
    }


@permission_required_action("iam:permissions:grantPermission")
def group_attach(request, pk):
    """Attach in two steps: choose roles/policies and a scope, then review the dependencies and confirm."""
    group = get_object_or_404(UserGroup, pk=pk)
    if request.method != "POST" and request.GET.get("step") == "review":
        return _review(request, group, AttachForm(request.GET))
    if request.method != "POST":
        # Least privilege first: chosen projects, unless the link asks for All resources.
        initial = {"scope": request.GET.get("scope", AttachForm.SCOPE_PROJECTS)}
        form = AttachForm(initial=initial)
        context = _attach_context(request, group, form, request.GET.getlist("policies"),
                                  request.GET.getlist("projects"))
        return render(request, "iam/groups/attach.html", context)
    form = AttachForm(request.POST)
    if form.is_valid():
        policies = list(form.cleaned_data["policies"])
        if request.POST.get("step") == "confirm":
            try:
                result = services.grant_attach(actor=request.user, group=group, policies=policies,
                                               all_resources=form.all_resources, projects=form.chosen_projects,
                                               expires=form.end)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, result.message)
                return redirect("iam:group-permissions", pk=group.pk)
        elif request.POST.get("step") == "review":
            # Post/redirect/get: the review is an address of its own, so Back and Forward redraw it.
            return redirect(reverse("iam:group-attach", args=[group.pk]) + "?step=review&"
                            + _choices(request.POST).urlencode())
        else:
            return render(request, "iam/groups/attach_confirm.html", _review_context(request, group, form, policies))
    context = _attach_context(request, group, form, request.POST.getlist("policies"), request.POST.getlist("projects"))
    return render(request, "iam/groups/attach.html", context, status=422)


def _choices(data):
    """The attach form's choices without its token, its step and empty values, as the review's query."""
    choices = QueryDict(mutable=True)
    for key in data:
        if key not in ("csrfmiddlewaretoken", "step"):
            choices.setlist(key, [value for value in data.getlist(key) if value != ""])
    return choices


def _review(request, group, form):
    """The review of the choices in the URL (GET ?step=review&…); choices that do not hold go back to step 1."""
    if form.is_valid():
        return render(request, "iam/groups/attach_confirm.html",
                      _review_context(request, group, form, list(form.cleaned_data["policies"])))
    context = _attach_context(request, group, form, request.GET.getlist("policies"), request.GET.getlist("projects"))
    return render(request, "iam/groups/attach.html", context, status=422)


def _review_context(request, group, form, policies):
    """What confirming will do: each policy with its scope, the dependencies coming along, and any refusal."""
    dependencies = services.dependency_closure(policies)
    global_only = [p for p in policies + dependencies if services.is_global_only(p)]
    ungrantable = {p.name: services.ungrantable_actions(request.user, p, all_resources=form.all_resources,
                                                        projects=form.chosen_projects)
                   for p in policies + dependencies}
    choices = _choices(form.data)
    return {
        "group": group,
        "form": form,
        "policies": policies,
        "dependencies": dependencies,
        "total": len(policies) + len(dependencies),
        "dependency_sentence": services.describe_dependencies(policies),
        "picture": dependency_picture([p for p in policies if p.kind == Policy.Kind.ROLE]) if dependencies else None,
        "global_only": global_only,
        "all_resources": form.all_resources,
        "projects": form.chosen_projects,
        "ungrantable": {name: actions for name, actions in ungrantable.items() if actions},
        "attached": set(group.grants.values_list("policy_id", flat=True)),
        "back_url": reverse("iam:group-attach", args=[group.pk]) + "?" + choices.urlencode(),
        **impact.for_page(request.authorization, impact.attach_impact(
            group, policies, all_resources=form.all_resources, projects=form.chosen_projects)),
    }


@permission_required_action("iam:permissions:revokePermission")
def group_detach(request, pk):
    """Confirm a detach; a needed dependency is refused, naming its dependents and offering to detach them too."""
    group = get_object_or_404(UserGroup, pk=pk)
    form = DetachForm(request.POST if request.method == "POST" else request.GET, group=group)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("iam:group-permissions", pk=group.pk)
    policies = list(form.cleaned_data["policies"])
    status = 200
    if request.method == "POST":
        try:
            detached = services.grant_detach(actor=request.user, group=group, policies=policies)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            status = 409
        else:
            messages.success(request, gettext("Detached %(policies)s from %(group)s.") % {
                "policies": ", ".join(p.name for p in detached), "group": group.name})
            return redirect("iam:group-permissions", pk=group.pk)
    blockers = services.detach_blockers(group, policies)
    grants = [g for g in group_grants(group) if g.policy_id in {p.pk for p in policies}]
    context = {"group": group, "grants": grants, "policies": policies, "blockers": blockers,
               "together": policies + blockers,
               "refusal": escalation.detach_refusal(request.user, group, policies + blockers),
               **impact.for_page(request.authorization, impact.detach_impact(group, policies + blockers))}
    return render(request, "iam/groups/detach.html", context, status=status)
