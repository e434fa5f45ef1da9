"""Pages of the signed-in user: the home redirect and My permissions."""

from django.shortcuts import redirect, render

from accounts.policy import IMS_ACTIONS

from . import authz
from .permissions import login_only
from .selectors import all_projects

# The seed's common-operations table (SPEC section 4), then every other IMS action.
COMMON_OPERATIONS = (
    ("Creating images", ("ims:serverImages:create",)),
    ("Deleting images", ("ims:images:delete",)),
    ("Querying images", ("ims:images:list", "ims:images:get")),
    ("Updating image information", ("ims:images:update",)),
)


@login_only
def home(request):
    """Send the user where they can work: the image browser if they may list images anywhere."""
    authorization = authz.authorization_for(request.user)
    if any(authorization.allows("ims:images:list", p) for p in all_projects(request)):
        return redirect("images:list")
    return redirect("accounts:my-permissions")


def _operation_rows(authorization, projects):
    common = {a for _, actions in COMMON_OPERATIONS for a in actions}
    operations = list(COMMON_OPERATIONS) + [
        (action.label, (action.name,)) for action in IMS_ACTIONS if action.name not in common
    ]
    rows = []
    for label, actions in operations:
        cells = []
        for project in projects:
            decisions = [authorization.decide(a, project) for a in actions]
            cells.append({"project": project, "allowed": all(d.allowed for d in decisions), "decisions": decisions})
        rows.append({"label": label, "actions": actions, "cells": cells})
    return rows


@login_only
def my_permissions(request):
    """The common-operations table as operations × projects, each cell explained."""
    authorization = authz.authorization_for(request.user)
    projects = all_projects(request)
    context = {
        "projects": projects,
        "rows": _operation_rows(authorization, projects),
        "groups": [rule.group_name for rule in authorization.rules],
        "rules": authorization.rules,
        "is_admin": authorization.is_admin,
    }
    return render(request, "accounts/my_permissions.html", context)
