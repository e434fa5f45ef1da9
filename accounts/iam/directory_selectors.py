"""Reads of the directory pages (users, groups, grants, audit), and the buttons each page may show."""

from __future__ import annotations

from datetime import UTC, datetime, time

from django.db.models import Count, DateTimeField, OuterRef, Prefetch, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from accounts.models import AuditEvent, Grant, Membership, Policy, User, UserGroup
from accounts.selectors import all_projects

from .sorting import Column, TableSort

PAGE_SIZE = 25
CANDIDATE_LIMIT = 20

# The IAM actions whose buttons these pages show or hide, by their operation name (`can.createUser`).
DIRECTORY_ACTIONS = (
    "iam:users:listUsers", "iam:users:getUser", "iam:users:createUser", "iam:users:updateUser",
    "iam:users:deleteUser", "iam:groups:listGroups", "iam:groups:getGroup", "iam:groups:createGroup",
    "iam:groups:updateGroup", "iam:groups:deleteGroup", "iam:groups:addUserToGroup",
    "iam:groups:removeUserFromGroup", "iam:permissions:listPermissions", "iam:permissions:grantPermission",
    "iam:permissions:revokePermission", "iam:roles:getRole", "iam:audit:listEvents",
)


def capabilities(request) -> dict[str, bool]:
    """Which directory actions the user may take, by operation name: decided in memory, no queries."""
    return {action.rsplit(":", 1)[1]: request.authorization.allows(action) for action in DIRECTORY_ACTIONS}


NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # "never signed in" sorts before every sign-in

USER_SORT = TableSort((
    Column("username", gettext_lazy("Username"), ("username", "id")),
    Column("name", gettext_lazy("Name"), ("first_name", "last_name", "id")),
    Column("email", gettext_lazy("Email"), ("email", "id")),
    Column("groups", gettext_lazy("Groups")),
    Column("status", gettext_lazy("Status"), ("is_active", "username", "id")),
    Column("signed-in", gettext_lazy("Last sign-in"), ("signed_in", "id")),
), default="username")

GROUP_SORT = TableSort((
    Column("name", gettext_lazy("Name"), ("name", "id")),
    Column("description", gettext_lazy("Description"), ("description", "id")),
    Column("members", gettext_lazy("Members"), ("member_count", "id")),
    Column("grants", gettext_lazy("Grants"), ("grant_count", "id")),
    Column("created", gettext_lazy("Created"), ("created_at", "id")),
), default="name")

POLICY_SORT = TableSort((
    Column("name", gettext_lazy("Name"), ("name", "id")),
    Column("kind", gettext_lazy("Kind"), ("kind", "is_system", "name", "id")),
    Column("description", gettext_lazy("Description"), ("description", "id")),
    Column("attached", gettext_lazy("Attached to"), ("group_count", "id")),
), default="name")

AUDIT_SORT = TableSort((
    Column("when", gettext_lazy("When"), ("created_at", "id")),
    Column("user", gettext_lazy("User"), ("actor_name", "id")),
    Column("action", gettext_lazy("Action"), ("action", "id")),
    Column("target", gettext_lazy("Target"), ("target_repr", "id")),
    Column("project", gettext_lazy("Project"), ("project", "id")),
    Column("outcome", gettext_lazy("Outcome"), ("outcome", "id")),
    Column("message", gettext_lazy("Message and details")),
), default="-when")


def users_matching(*, text: str = "", group_id: int | None = None, active: str = ""):
    """Users for the list page, with their groups in one extra query whatever the page size."""
    users = User.objects.prefetch_related(Prefetch("iam_groups", queryset=UserGroup.objects.order_by("name")))
    users = users.annotate(signed_in=Coalesce("last_login", Value(NEVER, output_field=DateTimeField())))
    if text:
        users = users.filter(Q(username__icontains=text) | Q(email__icontains=text)
                             | Q(first_name__icontains=text) | Q(last_name__icontains=text))
    if group_id:
        users = users.filter(memberships__group_id=group_id)
    if active in ("yes", "no"):
        users = users.filter(is_active=active == "yes")
    return users.order_by("username")


def _count_of(model):
    """The number of `model` rows of the outer group: a correlated count, so only the rows of the page
    are counted (a join and GROUP BY would count every group before the page is cut)."""
    rows = model.objects.filter(group=OuterRef("pk")).order_by().values("group").annotate(n=Count("pk"))
    return Coalesce(Subquery(rows.values("n")[:1]), 0)


def groups_matching(*, text: str = ""):
    """Groups for the list page, each with its member and grant counts (one query)."""
    groups = UserGroup.objects.annotate(member_count=_count_of(Membership), grant_count=_count_of(Grant))
    if text:
        groups = groups.filter(Q(name__icontains=text) | Q(description__icontains=text))
    return groups.order_by("name")


def policies_matching(*, kind_filter: Q | None = None, text: str = ""):
    """Roles and policies for the list page, each with the number of groups it is attached to (one query)."""
    groups = (Grant.objects.filter(policy=OuterRef("pk")).order_by().values("policy")
              .annotate(n=Count("group", distinct=True)))
    policies = Policy.objects.annotate(group_count=Coalesce(Subquery(groups.values("n")[:1]), 0))
    if kind_filter is not None:
        policies = policies.filter(kind_filter)
    if text:
        policies = policies.filter(Q(name__icontains=text) | Q(description__icontains=text))
    return policies


def group_members(group: UserGroup) -> list[User]:
    return list(User.objects.filter(memberships__group=group).order_by("username"))


def membership_candidates(group: UserGroup, text: str) -> list[User]:
    """Users not yet in the group whose name matches `text`, with their group counts (the ≤ 10 limit)."""
    users = (User.objects.exclude(memberships__group=group)
             .annotate(group_count=Count("memberships", distinct=True)).order_by("username"))
    if text:
        users = users.filter(Q(username__icontains=text) | Q(email__icontains=text)
                             | Q(first_name__icontains=text) | Q(last_name__icontains=text))
    return list(users[:CANDIDATE_LIMIT])


def user_memberships(user: User) -> list[Membership]:
    return list(Membership.objects.filter(user=user).select_related("group").order_by("group__name"))


def group_grants(group: UserGroup) -> list[Grant]:
    """The group's grants with policies, dependencies and projects loaded (three queries)."""
    return list(
        Grant.objects.filter(group=group)
        .select_related("policy")
        .prefetch_related("projects", "policy__depends_on")
        .order_by("policy__name")
    )


def attachable_policies() -> dict[str, list[Policy]]:
    """Every role and policy, in the three sections of the attach picker."""
    roles, system, custom = [], [], []
    for policy in Policy.objects.prefetch_related("depends_on").order_by("name"):
        (roles if policy.kind == Policy.Kind.ROLE else system if policy.is_system else custom).append(policy)
    return {gettext("System roles"): roles, gettext("System policies"): system, gettext("Custom policies"): custom}


def projects_by_region(request) -> list[tuple[object, list]]:
    """[(region, [projects...]), ...] in region order, from the request's memoised project list."""
    grouped: dict[int, tuple[object, list]] = {}
    for project in all_projects(request):
        grouped.setdefault(project.region_id, (project.region, []))[1].append(project)
    return list(grouped.values())


def audit_events(*, user: str = "", action: str = "", outcome: str = "", date_from=None, date_to=None):
    """Audit events matching the filters, newest first; dates are whole days in the console's time zone."""
    events = AuditEvent.objects.all()
    if user:
        events = events.filter(actor_name__iexact=user)
    if action:
        events = events.filter(action=action)
    if outcome:
        events = events.filter(outcome=outcome)
    zone = timezone.get_current_timezone()
    if date_from:
        events = events.filter(created_at__gte=datetime.combine(date_from, time.min, tzinfo=zone))
    if date_to:
        events = events.filter(created_at__lte=datetime.combine(date_to, time.max, tzinfo=zone))
    return events.order_by("-created_at", "-id")
