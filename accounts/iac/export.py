"""Export the account's IAM configuration as one canonical document (a fixed number of queries)."""

from __future__ import annotations

from accounts import authz
from accounts.models import Grant, Membership, Policy, Project, Region, User, UserGroup
from federation.iac import export_entries

from .document import ALL_RESOURCES, FORMAT, Configuration, dumps, expires_text

# Reading everything the document holds: who may press Export (or see an import's plan).
EXPORT_ACTIONS = (
    "iam:projects:listProjects",
    "iam:users:listUsers",
    "iam:users:getUser",
    "iam:groups:listGroups",
    "iam:groups:getGroup",
    "iam:roles:listRoles",
    "iam:roles:getRole",
    "iam:permissions:listPermissions",
    "iam:identityProviders:list",
    "iam:identityProviders:get",
)


def export_refusal(actor) -> str | None:
    """Why `actor` may not export (None: they may): the engine must allow every read it contains."""
    if actor is None:
        return None
    authorization = authz.authorization_for(actor)
    missing = [action for action in EXPORT_ACTIONS if authorization is None or not authorization.allows(action)]
    if missing:
        return f"Exporting the configuration reads all of it: you need {', '.join(missing)}."
    return None


def grant_scopes() -> list[tuple[str, str, object]]:
    """Every grant as (group name, policy name, ALL_RESOURCES or a frozenset of project names).

    Two queries of plain values: no policy document is decoded and no model is built per grant.
    """
    projects: dict[int, set[str]] = {}
    for grant_id, name in Grant.projects.through.objects.values_list("grant_id", "project__name"):
        projects.setdefault(grant_id, set()).add(name)
    return [
        (group_name, policy_name, ALL_RESOURCES if whole else frozenset(projects.get(pk, ())))
        for pk, group_name, policy_name, whole in
        Grant.objects.order_by().values_list("pk", "group__name", "policy__name", "all_resources")
    ]


def grant_ends() -> dict[tuple[str, str], str]:
    """Every grant with an end, as (group name, policy name) → its end as the file spells it."""
    return {(group_name, policy_name): expires_text(expires) for group_name, policy_name, expires in
            Grant.objects.filter(expires__isnull=False).order_by().values_list("group__name", "policy__name",
                                                                               "expires")}


def current_configuration() -> Configuration:
    """The stored configuration: regions, projects, users, groups, custom policies and grants."""
    projects: dict[int, list[dict]] = {}
    for project in Project.objects.order_by("name"):
        projects.setdefault(project.region_id, []).append({"name": project.name, "description": project.description})
    members: dict[int, list[str]] = {}
    for group_id, username in Membership.objects.values_list("group_id", "user__username"):
        members.setdefault(group_id, []).append(username)
    grants, ends = [], grant_ends()
    for group_name, policy_name, scope in grant_scopes():
        grants.append({"group": group_name, "policy": policy_name,
                       "scope": scope if scope == ALL_RESOURCES else sorted(scope),
                       **({"expires": ends[(group_name, policy_name)]} if (group_name, policy_name) in ends else {})})
    data = {
        "format": FORMAT,
        "regions": [{"code": r.code, "name": r.name, "projects": projects.get(r.pk, [])}
                    for r in Region.objects.all()],
        "users": list(User.objects.values("username", "email", "first_name", "last_name", "is_active", "is_staff")),
        "groups": [{"name": g.name, "description": g.description, "members": members.get(g.pk, [])}
                   for g in UserGroup.objects.all()],
        "policies": [{"name": p.name, "description": p.description, "document": p.document}
                     for p in Policy.objects.filter(is_system=False)],
        "grants": [g for g in grants if g["scope"]],  # a scoped grant left without projects grants nothing
        "identity_providers": export_entries(),
    }
    return Configuration.model_validate(data, strict=False)


def export_text() -> str:
    """The stored configuration's canonical text (what iam_export writes and the Export button sends)."""
    return dumps(current_configuration())
