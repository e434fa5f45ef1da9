"""What the console's import accepts, and who may ask it to do any work: checked before parsing and planning.

- MAX_BYTES: the document's size in UTF-8 (413 above it). An export of an account of 1,000 users,
  200 groups and 2,300 grants is about 0.8 MiB.
- MAX_ENTRIES: the number of items of the document's lists — regions, projects, users, groups,
  members, custom policies, grants and the projects of each grant's scope (422 above it).

A plan, a trial and an apply cost time in proportion to these (a trial or an apply holds the
database's write lock while it runs its changes), so they are kept where a whole account fits and
a request cannot keep every writer waiting. The README's "Backup and restore" and the JSON Schema
quote them from here.
"""

from __future__ import annotations

import json

from accounts.policy.messages import Message, gettext_noop, ngettext

MAX_BYTES = 2 * 1024 * 1024
MAX_ENTRIES = 10_000
# The changes one console import may make: its trial and its apply each hold the database's write lock
# while they run them (a few milliseconds a change on a small account, more on a large one).
MAX_CHANGES = 1_000
# A request body that cannot hold a document within MAX_BYTES, even form-encoded (each byte as %XX).
MAX_REQUEST_BYTES = 3 * MAX_BYTES + 64 * 1024

# The write actions an import's changes call for, by (plan section, kind of change).
WRITE_ACTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("Regions and projects", "create"): ("iam:projects:createProject",),
    ("Regions and projects", "change"): ("iam:projects:updateProject",),
    ("Users", "create"): ("iam:users:createUser",),
    ("Users", "change"): ("iam:users:updateUser",),
    ("Users", "remove"): ("iam:users:deleteUser",),
    ("Custom policies", "create"): ("iam:roles:createRole",),
    ("Custom policies", "change"): ("iam:roles:updateRole",),
    ("Custom policies", "remove"): ("iam:roles:deleteRole",),
    ("User groups", "create"): ("iam:groups:createGroup",),
    ("User groups", "change"): ("iam:groups:updateGroup",),
    ("User groups", "remove"): ("iam:groups:deleteGroup",),
    ("Members", "create"): ("iam:groups:addUserToGroup",),
    ("Members", "remove"): ("iam:groups:removeUserFromGroup",),
    ("Grants", "create"): ("iam:permissions:grantPermission",),
    ("Grants", "change"): ("iam:permissions:grantPermission",),
    ("Grants", "remove"): ("iam:permissions:revokePermission",),
    ("Identity providers", "create"): ("iam:identityProviders:create", "iam:identityProviders:update"),
    ("Identity providers", "change"): ("iam:identityProviders:update",),
    ("Identity providers", "remove"): ("iam:identityProviders:delete",),
}
IMPORT_WRITE_ACTIONS = tuple(sorted({action for actions in WRITE_ACTIONS.values() for action in actions}))


def size_refusal(text: str) -> str | None:
    """Why the document is too large to look at (None: it is not)."""
    return bytes_refusal(len(text.encode("utf-8", "surrogatepass")))


def bytes_refusal(size: int) -> str | None:
    """Why a document of `size` bytes is too large to look at (None: it is not)."""
    if size > MAX_BYTES:
        return Message(gettext_noop("The file is %(size)s bytes; an import takes at most %(limit)s bytes "
                                    "(%(mib)s MiB). Split it, or apply it with manage.py iam_apply."),
                       size=f"{size:,}", limit=f"{MAX_BYTES:,}", mib=MAX_BYTES // 1024 // 1024)
    return None


def count_entries(data) -> int:
    """The entries of a parsed document, as MAX_ENTRIES counts them (whatever their shape: not validated yet)."""
    if not isinstance(data, dict):
        return 0

    def items(value) -> list:
        return value if isinstance(value, list) else []

    count = 0
    for region in items(data.get("regions")):
        count += 1 + (len(items(region.get("projects"))) if isinstance(region, dict) else 0)
    count += len(items(data.get("users"))) + len(items(data.get("policies")))
    for group in items(data.get("groups")):
        count += 1 + (len(items(group.get("members"))) if isinstance(group, dict) else 0)
    for grant in items(data.get("grants")):
        count += 1 + (len(items(grant.get("scope"))) if isinstance(grant, dict) else 0)
    return count


def entries_refusal(text: str) -> str | None:
    """Why the document has too many entries to plan (None: it has not, or it is not JSON: parsing says why)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    count = count_entries(data)
    if count > MAX_ENTRIES:
        return Message(gettext_noop("The file has %(count)s entries (regions, projects, users, groups, members, "
                                    "policies, grants and their projects); an import takes at most %(limit)s. Split "
                                    "it, or apply it with manage.py iam_apply."),
                       count=f"{count:,}", limit=f"{MAX_ENTRIES:,}")
    return None


def changes_refusal(changes) -> list[tuple[str, str]]:
    """A located error when a plan has more changes than one console import makes (none: it has not)."""
    if len(changes) <= MAX_CHANGES:
        return []
    return [("$", Message(gettext_noop("The file makes %(count)s changes; one import in the console makes at most "
                                       "%(limit)s (each is tried, then applied, while other changes wait). Split it, "
                                       "or apply it with manage.py iam_apply at a quiet time."),
                          count=f"{len(changes):,}", limit=f"{MAX_CHANGES:,}"))]


def import_refusal(actor) -> str | None:
    """Why `actor` may not import anything at all (None: they hold at least one write action an import uses).

    Asked before the file is read: someone who can change nothing of the configuration gets no plan.
    """
    if actor is None:
        return None
    from accounts import authz

    authorization = authz.authorization_for(actor)
    if authorization is not None and any(authorization.allows(action) for action in IMPORT_WRITE_ACTIONS):
        return None
    return Message(gettext_noop("Importing changes the IAM configuration, and your permissions allow none of its "
                                "changes: you need at least one of %(actions)s."),
                   actions=", ".join(IMPORT_WRITE_ACTIONS))


def kind_refusals(changes, actor) -> list[tuple[str, str]]:
    """For each kind of change the plan holds whose write action `actor` lacks: a located error at its first
    change. Asked after the plan (no lock, a fixed number of queries) and before any change is tried."""
    if actor is None:
        return []
    from accounts import authz

    authorization = authz.authorization_for(actor)
    narrowing = any("narrowed" in c.note for c in changes if c.section == "Grants")
    errors = []
    for key, (change, count) in _first_of_each_kind(changes).items():
        needed = list(WRITE_ACTIONS.get(key, ()))
        if key == ("Grants", "change") and narrowing:
            needed.append("iam:permissions:revokePermission")  # narrowing detaches, then attaches again
        missing = [action for action in needed if authorization is None or not authorization.allows(action)]
        if missing:
            errors.append((change.path or "$", _kind_refusal(change, count, missing)))
    return errors


def _first_of_each_kind(changes) -> dict[tuple[str, str], tuple[object, int]]:
    """(section, kind) → (its first change, how many changes of that kind), in the plan's order."""
    first: dict[tuple[str, str], tuple[object, int]] = {}
    for change in changes:
        key = (change.section, change.kind)
        found = first.get(key)
        first[key] = (change if found is None else found[0], 1 if found is None else found[1] + 1)
    return first


# A plan's section inside a sentence ("create in user groups"), and the kind of change, for translation.
_SECTION_WORDS = {
    "Regions and projects": gettext_noop("regions and projects"), "Users": gettext_noop("users"),
    "Custom policies": gettext_noop("custom policies"), "User groups": gettext_noop("user groups"),
    "Members": gettext_noop("members"), "Grants": gettext_noop("grants"),
    "Identity providers": gettext_noop("identity providers"),
}
_KIND_WORDS = {"create": gettext_noop("create"), "change": gettext_noop("change"), "remove": gettext_noop("remove")}


def _kind_refusal(change, count: int, missing: list[str]) -> str:
    """The refusal of a kind of change, said at its first change and counting the others."""
    section = change.section.lower()
    params = {"kind": Message(_KIND_WORDS[change.kind]) if change.kind in _KIND_WORDS else change.kind,
              "section": Message(_SECTION_WORDS[change.section]) if change.section in _SECTION_WORDS else section,
              "subject": change.subject, "actions": ", ".join(missing)}
    if count == 1:
        return Message(gettext_noop("Refused: %(kind)s in %(section)s (%(subject)s) needs %(actions)s, which your "
                                    "permissions do not allow."), **params)
    return ngettext("Refused: %(kind)s in %(section)s (%(subject)s) needs %(actions)s, which your permissions do "
                    "not allow (and %(more)s more change of this kind).",
                    "Refused: %(kind)s in %(section)s (%(subject)s) needs %(actions)s, which your permissions do "
                    "not allow (and %(more)s more changes of this kind).", count - 1, more=f"{count - 1:,}", **params)


def json_schema() -> dict:
    """The configuration file's JSON Schema (accounts.iac.document), with the console's limits stated in it."""
    from .document import json_schema as model_schema

    schema = model_schema()
    stated = (f"The console's import takes at most {MAX_BYTES:,} bytes ({MAX_BYTES // 1024 // 1024} MiB) and "
              f"{MAX_ENTRIES:,} entries (items of the lists: regions, projects, users, groups, members, "
              f"policies, grants and the projects of their scopes).")
    schema["description"] = f"{schema.get('description', '').rstrip()} {stated}".strip()
    schema["x-imsperm-limits"] = {"maxBytes": MAX_BYTES, "maxEntries": MAX_ENTRIES}
    return schema
