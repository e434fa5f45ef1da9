"""The action catalogue, services, condition keys and system documents, as data.

This is the one place in the codebase where action names are spelled out: pages, views,
forms, admin screens and tests take them from here, so a renamed action cannot drift.
Names stay verbatim everywhere (they are the API); the human words (an action's label and description)
are English here, marked with `gettext_noop` so makemessages collects them, and a
page translates them when it renders them (`gettext(action.label)`, `{% translate action.label %}`).
"""

from dataclasses import dataclass
from types import MappingProxyType

from .messages import gettext_noop


@dataclass(frozen=True)
class Action:
    """One catalogued action, `service:resourceType:operation`."""

    name: str
    label: str
    description: str

    @property
    def service(self) -> str:
        return self.name.split(":")[0]

    @property
    def resource_type(self) -> str:
        return self.name.split(":")[1]

    @property
    def operation(self) -> str:
        return self.name.split(":")[2]


@dataclass(frozen=True)
class Service:
    """A service the policy language knows.

    `is_global` services (IAM) are granted on *All resources* only; `has_catalogue` services
    have their actions listed here, so a pattern matching none of them is a typo.
    """

    name: str
    label: str
    is_global: bool
    has_catalogue: bool


@dataclass(frozen=True)
class ConditionKey:
    """A condition key the server supplies; `type` decides which values the validator accepts.

    `per_image` keys are supplied only for actions on one image (see IMAGE_KEY_ACTIONS).
    """

    name: str
    type: str  # "string" | "number" | "date" | "bool" | "ip"
    per_image: bool = False


IMS_ACTIONS: tuple[Action, ...] = (
    Action("ims:images:list", gettext_noop("List images"), gettext_noop("List images, list OS versions, query tags")),
    Action("ims:images:get", gettext_noop("View images"), gettext_noop("Image details, share members")),
    Action("ims:images:create", gettext_noop("Register images"), gettext_noop("Create image metadata (native API)")),
    Action(
        "ims:serverImages:create",
        gettext_noop("Create system-disk images"),
        gettext_noop("Create a private system-disk image (from a server, a file, an ISO)"),
    ),
    Action("ims:dataImages:create", gettext_noop("Create data-disk images"), gettext_noop("Create a data-disk image")),
    Action(
        "ims:wholeImages:create", gettext_noop("Create full-server images"), gettext_noop("Create a full-server image")
    ),
    Action("ims:images:update", gettext_noop("Modify images"), gettext_noop("Modify attributes; add and remove tags")),
    Action("ims:images:delete", gettext_noop("Delete images"), gettext_noop("Delete images")),
    Action(
        "ims:images:upload",
        gettext_noop("Upload images"),
        gettext_noop("Upload or register an image file into an image record"),
    ),
    Action("ims:images:export", gettext_noop("Export images"), gettext_noop("Export an image file to storage")),
    Action("ims:images:copy", gettext_noop("Replicate images"), gettext_noop("Replicate in-region or across regions")),
    Action(
        "ims:images:share",
        gettext_noop("Share images"),
        gettext_noop("Add/remove share members; accept/reject an image shared with you"),
    ),
    Action("ims:quotas:get", gettext_noop("View image quota"), gettext_noop("Read the project's image quota")),
)

IAM_ACTIONS: tuple[Action, ...] = (
    Action("iam:users:listUsers", gettext_noop("List users"), gettext_noop("List IAM users")),
    Action("iam:users:getUser", gettext_noop("View users"), gettext_noop("View a user's details and groups")),
    Action("iam:users:createUser", gettext_noop("Create users"), gettext_noop("Create a user")),
    Action(
        "iam:users:updateUser", gettext_noop("Modify users"), gettext_noop("Modify a user, activate or deactivate it")
    ),
    Action("iam:users:deleteUser", gettext_noop("Delete users"), gettext_noop("Delete a user")),
    Action("iam:groups:listGroups", gettext_noop("List user groups"), gettext_noop("List user groups")),
    Action(
        "iam:groups:getGroup", gettext_noop("View user groups"), gettext_noop("View a group, its members and grants")
    ),
    Action("iam:groups:createGroup", gettext_noop("Create user groups"), gettext_noop("Create a user group")),
    Action(
        "iam:groups:updateGroup", gettext_noop("Modify user groups"), gettext_noop("Rename or describe a user group")
    ),
    Action("iam:groups:deleteGroup", gettext_noop("Delete user groups"), gettext_noop("Delete a user group")),
    Action("iam:groups:addUserToGroup", gettext_noop("Add group members"), gettext_noop("Add a user to a group")),
    Action(
        "iam:groups:removeUserFromGroup",
        gettext_noop("Remove group members"),
        gettext_noop("Remove a user from a group"),
    ),
    Action(
        "iam:roles:listRoles",
        gettext_noop("List policies"),
        gettext_noop("List system roles and policies, custom policies"),
    ),
    Action("iam:roles:getRole", gettext_noop("View policies"), gettext_noop("View a role or policy and its document")),
    Action("iam:roles:createRole", gettext_noop("Create custom policies"), gettext_noop("Create a custom policy")),
    Action("iam:roles:updateRole", gettext_noop("Modify custom policies"), gettext_noop("Modify a custom policy")),
    Action("iam:roles:deleteRole", gettext_noop("Delete custom policies"), gettext_noop("Delete a custom policy")),
    Action(
        "iam:permissions:listPermissions", gettext_noop("List grants"), gettext_noop("List the grants of a user group")
    ),
    Action(
        "iam:permissions:grantPermission",
        gettext_noop("Grant permissions"),
        gettext_noop("Attach a role or policy to a user group in a scope"),
    ),
    Action(
        "iam:permissions:revokePermission",
        gettext_noop("Revoke permissions"),
        gettext_noop("Detach a role or policy from a user group"),
    ),
    Action("iam:projects:listProjects", gettext_noop("List projects"), gettext_noop("List regions and projects")),
    Action(
        "iam:projects:createProject", gettext_noop("Create projects"), gettext_noop("Create a subproject in a region")
    ),
    Action("iam:projects:updateProject", gettext_noop("Modify projects"), gettext_noop("Rename or describe a project")),
    Action("iam:audit:listEvents", gettext_noop("View audit log"), gettext_noop("List audit events")),
    Action(
        "iam:identityProviders:list",
        gettext_noop("List identity providers"),
        gettext_noop("List the OpenID Connect identity providers"),
    ),
    Action(
        "iam:identityProviders:get",
        gettext_noop("View identity providers"),
        gettext_noop("View an identity provider, its mapping rules; test its connection, preview its rules"),
    ),
    Action(
        "iam:identityProviders:create",
        gettext_noop("Create identity providers"),
        gettext_noop("Create an identity provider"),
    ),
    Action(
        "iam:identityProviders:update",
        gettext_noop("Modify identity providers"),
        gettext_noop("Modify, enable or disable an identity provider; change its mapping rules"),
    ),
    Action(
        "iam:identityProviders:delete",
        gettext_noop("Delete identity providers"),
        gettext_noop("Delete an identity provider"),
    ),
    Action(
        "iam:accessRequests:create",
        gettext_noop("Request access"),
        gettext_noop("Ask for an action or a policy, in a scope, for a time, with a justification"),
    ),
    Action(
        "iam:accessRequests:list",
        gettext_noop("View access requests"),
        gettext_noop("See the queue of access requests one could decide"),
    ),
    Action(
        "iam:accessRequests:approve",
        gettext_noop("Approve access requests"),
        gettext_noop(
            "Approve an access request: an expiring grant of what it asks (only what one could grant oneself)"
        ),
    ),
    Action(
        "iam:accessRequests:deny",
        gettext_noop("Deny access requests"),
        gettext_noop("Deny an access request, with a reason"),
    ),
)

ACTIONS: tuple[Action, ...] = IMS_ACTIONS + IAM_ACTIONS
ACTION_NAMES: frozenset[str] = frozenset(action.name for action in ACTIONS)
_ACTIONS_BY_NAME = {action.name: action for action in ACTIONS}


def get_action(name: str) -> Action:
    """The catalogued action called exactly `name`; KeyError if there is none."""
    return _ACTIONS_BY_NAME[name]


SERVICES: MappingProxyType[str, Service] = MappingProxyType(
    {
        service.name: service
        for service in (
            Service("ims", "Image Management Service", is_global=False, has_catalogue=True),
            Service("iam", "Identity and Access Management", is_global=True, has_catalogue=True),
            Service("ecs", "Elastic Cloud Server", is_global=False, has_catalogue=False),
            Service("evs", "Elastic Volume Service", is_global=False, has_catalogue=False),
            Service("bms", "Bare Metal Server", is_global=False, has_catalogue=False),
            Service("obs", "Object Storage Service", is_global=False, has_catalogue=False),
            Service("kms", "Key Management Service", is_global=False, has_catalogue=False),
        )
    }
)

# Image keys describe one existing image, so listing and creating cannot supply them.
IMAGE_KEY_ACTIONS: frozenset[str] = frozenset(
    action.name
    for action in IMS_ACTIONS
    if action.name
    not in {
        "ims:images:list",
        "ims:images:create",
        "ims:serverImages:create",
        "ims:dataImages:create",
        "ims:wholeImages:create",
        "ims:quotas:get",
    }
)

CONDITION_KEYS: tuple[ConditionKey, ...] = (
    ConditionKey("g:CurrentTime", "date"),
    ConditionKey("g:DomainName", "string"),
    ConditionKey("g:MFAPresent", "bool"),
    ConditionKey("g:MFAAge", "number"),
    ConditionKey("g:ProjectName", "string"),
    ConditionKey("g:ServiceName", "string"),
    ConditionKey("g:UserId", "string"),
    ConditionKey("g:UserName", "string"),
    ConditionKey("g:SourceIp", "ip"),
    ConditionKey("g:RequestedRegion", "string"),
    ConditionKey("ims:ImageType", "string", per_image=True),
    ConditionKey("ims:OsType", "string", per_image=True),
    ConditionKey("ims:Platform", "string", per_image=True),
    ConditionKey("ims:Architecture", "string", per_image=True),
)
_KEYS_BY_LOWER_NAME = {key.name.lower(): key for key in CONDITION_KEYS}
RESOURCE_TAG_PREFIX = "ims:ResourceTag/"


def names_global_services_only(document: dict) -> bool:
    """True when every action a document names belongs to a global service (IAM): such a document
    is granted on All resources only and gives nothing in any region project."""
    services = set()
    for statement in document.get("Statement", []):
        actions = statement.get("Action", [])
        for pattern in [actions] if isinstance(actions, str) else actions:
            services.add(pattern.split(":", 1)[0].lower())
    return bool(services) and all(name in SERVICES and SERVICES[name].is_global for name in services)


def lookup_condition_key(name: str) -> ConditionKey | None:
    """The declared key called `name` (case-insensitive), in its catalogue spelling, or None.

    `ims:ResourceTag/<tag key>` is a family: any non-empty tag key is a string image key.
    """
    lowered = name.lower()
    if lowered.startswith(RESOURCE_TAG_PREFIX.lower()) and len(name) > len(RESOURCE_TAG_PREFIX):
        return ConditionKey(RESOURCE_TAG_PREFIX + name[len(RESOURCE_TAG_PREFIX) :], "string", per_image=True)
    return _KEYS_BY_LOWER_NAME.get(lowered)


_NON_IAM = ("ims", "ecs", "evs", "bms", "obs", "kms")


def _allow(version: str, actions: list[str]) -> dict:
    return {"Version": version, "Statement": [{"Effect": "Allow", "Action": actions}]}


# Every document is an explicit list of Allows: a Deny inside a system document would cancel
# the other grants of whoever receives it.
SYSTEM_DOCUMENTS: tuple[dict, ...] = (
    {
        "name": "Tenant Administrator",
        "kind": "role",
        "description": "Administrator permissions for all services except IAM",
        "document": _allow("1.0", [f"{service}:*:*" for service in _NON_IAM]),
        "depends_on": [],
    },
    {
        "name": "Tenant Guest",
        "kind": "role",
        "description": "Read-only permissions for all services except IAM",
        "document": _allow(
            "1.0",
            [f"{service}:*:{op}*" for service in _NON_IAM for op in ("get", "list")],
        ),
        "depends_on": [],
    },
    {
        "name": "IMS Administrator",
        "kind": "role",
        "description": "Administrator permissions for IMS",
        "document": _allow("1.0", ["ims:*:*", "ecs:*:list", "ecs:*:get", "evs:*:get"]),
        "depends_on": ["Tenant Administrator"],
    },
    {
        "name": "Server Administrator",
        "kind": "role",
        "description": ("Permissions for creating, deleting, querying, modifying, and uploading images"),
        "document": _allow(
            "1.0",
            [
                "ims:serverImages:create",
                "ims:images:create",
                "ims:images:delete",
                "ims:images:get",
                "ims:images:list",
                "ims:images:update",
                "ims:images:upload",
            ],
        ),
        "depends_on": ["IMS Administrator"],
    },
    {
        "name": "Security Administrator",
        "kind": "role",
        "description": "Full permissions for IAM: users, groups, policies and grants",
        "document": _allow("1.0", ["iam:*:*"]),
        "depends_on": [],
    },
    {
        "name": "IMS FullAccess",
        "kind": "policy",
        "description": "All permissions for IMS",
        "document": _allow("1.1", ["ims:*:*"]),
        "depends_on": [],
    },
    {
        "name": "IMS ReadOnlyAccess",
        "kind": "policy",
        "description": ("Read-only permissions for IMS. Users with these permissions can only view IMS data."),
        "document": _allow("1.1", ["ims:*:get*", "ims:*:list*"]),
        "depends_on": [],
    },
    {
        "name": "FullAccess",
        "kind": "policy",
        "description": "Full permissions for all services except IAM",
        "document": _allow("1.1", [f"{service}:*:*" for service in _NON_IAM]),
        "depends_on": [],
    },
    {
        "name": "IAM AccessRequestSelfService",
        "kind": "policy",
        "description": "Lets its holders ask for access (an action or a policy, for a time); deciding needs more",
        "document": _allow("1.1", ["iam:accessRequests:create"]),
        "depends_on": [],
    },
)
