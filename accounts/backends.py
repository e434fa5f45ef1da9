"""Django's door into the policy engine: `user.has_perm("ims:images:delete", image)`.

Catalogue actions are decided for the object given (an Image, a Project, a project name, or
None for global or All-resources questions). Django's model permissions, which the admin site
asks for, are mapped onto catalogue actions, so the admin obeys the same policies.
"""

from asgiref.sync import sync_to_async
from axes.backends import AxesStandaloneBackend
from django.contrib.auth.backends import ModelBackend

from accounts.policy import ACTION_NAMES

from . import authz
from .models import User
from .prepared import RowsByKey

# Django admin's model permissions, expressed as catalogue actions.
MODEL_PERMISSION_ACTIONS = {
    "accounts.user": {"view": "iam:users:getUser", "add": "iam:users:createUser",
                      "change": "iam:users:updateUser", "delete": "iam:users:deleteUser"},
    "accounts.usergroup": {"view": "iam:groups:getGroup", "add": "iam:groups:createGroup",
                           "change": "iam:groups:updateGroup", "delete": "iam:groups:deleteGroup"},
    "accounts.membership": {"view": "iam:groups:getGroup", "add": "iam:groups:addUserToGroup",
                            "change": "iam:groups:addUserToGroup", "delete": "iam:groups:removeUserFromGroup"},
    "accounts.policy": {"view": "iam:roles:getRole", "add": "iam:roles:createRole",
                        "change": "iam:roles:updateRole", "delete": "iam:roles:deleteRole"},
    "accounts.grant": {"view": "iam:permissions:listPermissions", "add": "iam:permissions:grantPermission",
                       "change": "iam:permissions:grantPermission", "delete": "iam:permissions:revokePermission"},
    "accounts.region": {"view": "iam:projects:listProjects", "add": "iam:projects:createProject",
                        "change": "iam:projects:updateProject", "delete": "iam:projects:updateProject"},
    "accounts.project": {"view": "iam:projects:listProjects", "add": "iam:projects:createProject",
                         "change": "iam:projects:updateProject", "delete": "iam:projects:updateProject"},
    "accounts.auditevent": {"view": "iam:audit:listEvents"},
    "images.image": {"view": "ims:images:get", "add": "ims:images:create",
                     "change": "ims:images:update", "delete": "ims:images:delete"},
    "images.imagetag": {"view": "ims:images:get", "add": "ims:images:update",
                        "change": "ims:images:update", "delete": "ims:images:update"},
    "images.imagemember": {"view": "ims:images:get", "add": "ims:images:share",
                           "change": "ims:images:share", "delete": "ims:images:share"},
    "images.imageexport": {"view": "ims:images:export"},  # records of exports: read-only in the admin
}


def action_for_permission(perm: str) -> str | None:
    """'ims:images:delete' → itself; 'images.delete_image' → 'ims:images:delete'; else None."""
    if perm in ACTION_NAMES:
        return perm
    app_label, _, codename = perm.partition(".")
    verb, _, model = codename.partition("_")
    return MODEL_PERMISSION_ACTIONS.get(f"{app_label}.{model}", {}).get(verb)


class SignInThrottleBackend(AxesStandaloneBackend):
    """django-axes' lockout check for sign-ins over HTTP.

    Every HTTP sign-in passes its request; a call without one (the test client's `login`, a
    shell) is not a sign-in attempt from an address, so there is nothing to count and the next
    backend decides alone.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


# The signed-in user of every request, read by its id: the query compiled once per process.
_USER_BY_ID = RowsByKey(User, "id")


class PolicyBackend(ModelBackend):
    """Authenticates like ModelBackend; answers every permission from the policy engine.

    Every permission question has an async twin (Django's `ahas_perm` and friends); each twin
    asks the same engine, so no question falls through to Django's own permission tables.
    """

    def get_user(self, user_id):
        """ModelBackend's (the session's user, if it may still sign in), read by a query compiled once
        per process (accounts.prepared) instead of a queryset built and compiled on every request."""
        found = _USER_BY_ID.rows([user_id])
        return found[0] if found and self.user_can_authenticate(found[0]) else None

    def get_user_permissions(self, user_obj, obj=None):
        return set()

    def get_group_permissions(self, user_obj, obj=None):
        return set()

    def get_all_permissions(self, user_obj, obj=None):
        return set()

    async def aget_user_permissions(self, user_obj, obj=None):
        return set()

    async def aget_group_permissions(self, user_obj, obj=None):
        return set()

    async def aget_all_permissions(self, user_obj, obj=None):
        return set()

    def has_perm(self, user_obj, perm, obj=None):
        if not user_obj.is_active:
            return False
        action = action_for_permission(perm)
        if action is None:
            return False
        image = project = None
        if obj is not None and obj.__class__.__name__ == "Image":
            image = obj
        elif obj is not None:
            project = obj
        return authz.decide(user_obj, action, project=project, image=image).allowed

    async def ahas_perm(self, user_obj, perm, obj=None):
        return await sync_to_async(self.has_perm)(user_obj, perm, obj)

    def with_perm(self, perm, is_active=True, include_superusers=True, obj=None):
        """Users the engine allows `perm` (on `obj`): asked user by user, superusers get no short-cut."""
        users = User.objects.filter(is_active=True) if is_active else User.objects.all()
        allowed = [user.pk for user in users if self.has_perm(user, perm, obj)]
        return User.objects.filter(pk__in=allowed)

    async def ahas_module_perms(self, user_obj, app_label):
        return await sync_to_async(self.has_module_perms)(user_obj, app_label)

    def has_module_perms(self, user_obj, app_label):
        return any(
            self.has_perm(user_obj, f"{app_label}.view_{key.split('.', 1)[1]}")
            for key in MODEL_PERMISSION_ACTIONS
            if key.startswith(f"{app_label}.")
        )
