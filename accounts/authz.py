"""The one authorization service: every page, button, view, admin screen and command asks it.

For a user it loads the grants of all their groups in a fixed number of queries, compiles the
documents once (cached per policy revision), and answers `decide(action, project, image)` with
a decision and its explanation. Each (action, project) the user is asked about is compiled once
into a decision table: a ready explanation when no statement naming the action has a condition,
else only the conditions to test, so a decision costs about the same for 1 grant as for 200.
Compiled permissions are cached per process and keyed by the database's authorization stamp,
which every change to memberships, grants or policies bumps, so the very next request in every
process sees the change. A grant's end (`Grant.expires`) bumps nothing: compiled grants know their
earliest end (`valid_until`) and are rebuilt without the ended grant once the engine's clock
(`now()`, the one seam tests freeze) reaches it — no scheduler has to run for a permission to end.
"""

from __future__ import annotations

import json
import threading
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, override

from accounts.policy import (
    ACTIONS,
    SERVICES,
    ActionTable,
    CompiledPolicy,
    RowDecider,
    RowKeys,
    compile_document,
    get_action,
    lower_keys,
    names_global_services_only,
)
from accounts.policy.catalogue import IMAGE_KEY_ACTIONS

from .models import ADMIN_GROUP_NAME, AuthorizationStamp, Grant, Membership
from .prepared import RowsByKey, loaded_relation, prefetched_rows
from .process_cache import ProcessCache

DOMAIN_NAME = "imsperm"
ALL_RESOURCES = "All resources"  # a grant's scope as data (the decision API's "scope"); pages translate it
_CACHE_SIZE = 512
_USER_ATTR = "_imsperm_authorization"


@dataclass(frozen=True)
class GrantRule:
    """One grant as the engine sees it: who holds it, what it says, where it applies."""

    grant_id: int
    group_name: str
    policy_id: int
    policy_name: str
    policy_kind: str
    all_resources: bool
    project_names: frozenset[str]
    document: dict
    compiled: CompiledPolicy
    expires: datetime | None = None  # the grant's end: from then on load_grants leaves it out

    def covers(self, project_name: str | None, is_global: bool) -> bool:
        if self.all_resources:
            return True
        if is_global or project_name is None:
            return False
        return project_name in self.project_names

    @cached_property
    def names_global_service_only(self) -> bool:
        return names_global_services_only(self.document)

    @property
    def scope_label(self) -> str:
        return ALL_RESOURCES if self.all_resources else ", ".join(sorted(self.project_names))

    def reason(self, statement_index: int) -> Reason:
        return Reason(self.group_name, self.grant_id, self.policy_name, self.policy_kind, statement_index,
                      self.document["Statement"][statement_index]["Effect"], self.scope_label, self.expires)


@dataclass(frozen=True)
class Reason:
    """A deciding statement, traced back to its group and grant."""

    group_name: str
    grant_id: int | None
    policy_name: str
    policy_kind: str
    statement_index: int | None
    effect: str
    scope: str
    expires: datetime | None = None

    def __str__(self):
        """The reason in the active language, rendered when read (Reasons are cached across requests);
        policy, group and project names stay as written."""
        if self.grant_id is None:
            return gettext("member of the %(group)s group (allowed everything)") % {"group": self.group_name}
        if self.effect == "Deny":
            template = gettext("Deny in %(policy)s Statement %(statement)s, granted to group %(group)s on %(scope)s")
        else:
            template = gettext("Allow in %(policy)s Statement %(statement)s, granted to group %(group)s on %(scope)s")
        text = template % {"policy": self.policy_name, "statement": self.statement_index + 1,
                           "group": self.group_name,
                           "scope": gettext("All resources") if self.scope == ALL_RESOURCES else self.scope}
        if self.expires is not None:
            from .expiry import until_text

            text += f" {until_text(self.expires)}"
        return text


ADMIN_REASON = Reason(ADMIN_GROUP_NAME, None, "admin group", "group", None, "Allow", ALL_RESOURCES)


@dataclass(frozen=True)
class Explanation:
    """A decision with everything needed to explain it to a person.

    `matched` holds the deciding statements as (GrantRule, statement index) pairs or ready
    Reasons; the readable `reasons` are built only when someone reads them, so deciding every
    button of every row stays cheap.
    """

    action: str
    project: str | None
    outcome: str  # "allow" | "explicit_deny" | "implicit_deny"
    matched: tuple = ()
    missing_keys: frozenset[str] = field(default_factory=frozenset)

    @cached_property
    def reasons(self) -> tuple[Reason, ...]:
        return tuple(item if isinstance(item, Reason) else item[0].reason(item[1]) for item in self.matched)

    @property
    def allowed(self) -> bool:
        return self.outcome == "allow"

    @property
    def allowing_grant_ids(self) -> tuple[int, ...]:
        """The grants whose Allow statements allowed this decision (none for a deny or the admin group)."""
        if self.outcome != "allow":
            return ()
        return tuple(dict.fromkeys(item[0].grant_id for item in self.matched if not isinstance(item, Reason)))

    def __bool__(self):
        return self.allowed

    @property
    def summary(self) -> str:
        """The decision in the active language, rendered when read: explanations are cached across
        requests and languages. Action, policy, group and project names stay as written."""
        reasons = "; ".join(str(r) for r in self.reasons)
        if self.outcome == "allow":
            if self.project:
                return gettext("Allowed in %(project)s: %(reasons)s") % {"project": self.project, "reasons": reasons}
            return gettext("Allowed: %(reasons)s") % {"reasons": reasons}
        if self.outcome == "explicit_deny":
            if self.project:
                return gettext("Denied in %(project)s explicitly: %(reasons)s") % {
                    "project": self.project, "reasons": reasons}
            return gettext("Denied explicitly: %(reasons)s") % {"reasons": reasons}
        if self.project:
            return gettext("Denied in %(project)s: no grant allows %(action)s (implicit deny).") % {
                "project": self.project, "action": self.action}
        return gettext("Denied: no grant allows %(action)s (implicit deny).") % {"action": self.action}

    @property
    def english_summary(self) -> str:
        """The summary in English, whatever the request's language: what the audit log and the API keep."""
        return english_summary(self)


def english_summary(explanation) -> str:
    """An Explanation's (or one shaped like it) summary in English: stored and API text stays English."""
    with override("en"):
        return str(explanation.summary)


def image_context(image, project_name: str | None) -> dict[str, object]:
    """Condition keys an image supplies (SPEC 5.3), as seen from `project_name`."""
    image_type = image.image_type
    if image_type == "private" and project_name and image.project.name != project_name:
        image_type = "shared"
    context: dict[str, object] = {
        "ims:ImageType": image_type,
        "ims:OsType": image.os_type,
        "ims:Platform": image.platform,
        "ims:Architecture": image.architecture,
    }
    tags = prefetched_rows(image, "tags")  # a page's rows hold their tags: read them without a queryset per row
    for tag in image.tags.all() if tags is None else tags:
        context[f"ims:ResourceTag/{tag.key}"] = tag.value
    return context


class CompiledGrants:
    """A user's grants, compiled: immutable, shared by every request at one authorization stamp."""

    def __init__(self, *, user_id, username, is_active, is_admin, rules, stamp):
        self.user_id = user_id
        self.username = username
        self.is_active = is_active
        self.is_admin = is_admin
        self.rules: tuple[GrantRule, ...] = tuple(rules)
        self.stamp = stamp
        self._covering: dict[tuple[str | None, bool], tuple[tuple[GrantRule, CompiledPolicy], ...]] = {}
        self._cells: dict[tuple[str, str | None], DecisionCell] = {}

    @cached_property
    def valid_until(self) -> datetime | None:
        """The earliest end among the rules: from then on these compiled grants hold an ended grant."""
        return min((rule.expires for rule in self.rules if rule.expires is not None), default=None)

    def valid_at(self, moment: datetime) -> bool:
        """Whether no rule has ended at `moment` (the process cache rebuilds them otherwise)."""
        until = self.valid_until
        return until is None or moment < until

    def covering(self, project_name: str | None, is_global: bool) -> tuple[tuple[GrantRule, CompiledPolicy], ...]:
        """The grants whose scope covers a request, as (rule, compiled policy) pairs for the evaluator."""
        key = (project_name, is_global)
        found = self._covering.get(key)
        if found is None:
            found = tuple((rule, rule.compiled) for rule in self.rules if rule.covers(project_name, is_global))
            with _lock:
                self._covering[key] = found
        return found

    def cell(self, action: str, project_name: str | None) -> DecisionCell:
        """The decision table's cell for `action` in `project_name`, compiled on first use.

        Bounded by the catalogue's actions × the projects (get_action refuses any other name).
        """
        key = (action, project_name)
        found = self._cells.get(key)
        if found is None:
            found = DecisionCell(self, action, project_name)
            with _lock:
                self._cells[key] = found
        return found

    @classmethod
    def joined(cls, parts, action: str, project_name: str | None, *, is_active: bool, is_admin: bool,
               stamp: str) -> CompiledGrants:
        """Someone holding the grants of every part (each one group's, ordered by group name as
        load_grants orders them), whose cell of `action` in `project_name` is joined from the
        parts' cells rather than compiled from the rules again (accounts.who_can)."""
        grants = cls(user_id=None, username="", is_active=is_active, is_admin=is_admin,
                     rules=[rule for part in parts for rule in part.rules], stamp=stamp)
        grants._cells[(action, project_name)] = DecisionCell.joined(
            grants, [part.cell(action, project_name) for part in parts], action, project_name)
        return grants

    def for_member(self, *, user_id, username, is_active: bool = True) -> CompiledGrants:
        """The same grants held by another user: the compiled cells are shared, not rebuilt.

        Cells depend only on the rules, the admin flag and whether the user is active; the user's
        id and name enter only the request context (g:UserId, g:UserName) of each decision. So
        every member of the same groups is decided by the one table (accounts.who_can).
        """
        member = CompiledGrants(user_id=user_id, username=username, is_active=is_active,
                                is_admin=self.is_admin, rules=self.rules, stamp=self.stamp)
        if is_active == self.is_active:
            member._covering, member._cells = self._covering, self._cells
        if "keys_read" in self.__dict__:  # the same rules: read the same keys
            member.keys_read = self.keys_read
        return member

    @cached_property
    def keys_read(self) -> frozenset[str]:
        """The condition keys (lower-cased) that some statement of these grants reads: a value no
        statement reads cannot change a decision, so a page need not look it up (Authorization._row)."""
        return frozenset(key for rule in self.rules for statement in rule.compiled.statements
                         if statement.condition is not None for key in statement.condition.keys)

    @cached_property
    def project_names_with_any_permission(self) -> frozenset[str] | None:
        """Projects some grant covers; None means every project (admin or an All-resources grant)."""
        if self.is_admin:
            return None
        names: set[str] = set()
        for rule in self.rules:
            if rule.names_global_service_only:
                continue  # IAM is global: a grant of IAM actions alone gives nothing in any project
            if rule.all_resources:
                return None
            names |= rule.project_names
        return frozenset(names)


class DecisionCell:
    """One user's decision of one action in one project, as far as it can be made ahead.

    `explanation` is the answer itself when it cannot depend on the request (an inactive user,
    an admin, or no statement naming the action has a condition); otherwise `table` decides
    with the request's lower-cased context.
    """

    __slots__ = ("explanation", "table")

    def __init__(self, grants: CompiledGrants, action: str, project_name: str | None):
        is_global = SERVICES[get_action(action).service].is_global  # refuses an uncatalogued action
        self.table = None
        if not grants.is_active:
            self.explanation = Explanation(action, project_name, "implicit_deny")
        elif grants.is_admin:
            self.explanation = Explanation(action, project_name, "allow", (ADMIN_REASON,))
        else:
            self.table = ActionTable(grants.covering(project_name, is_global), action,
                                     _explainer(action, project_name))
            self.explanation = self.table.constant

    @classmethod
    def joined(cls, grants: CompiledGrants, parts, action: str, project_name: str | None) -> DecisionCell:
        """The cell of `grants` made by joining the cells of `parts`, whose rules `grants` holds in order."""
        if not grants.is_active or grants.is_admin:
            return cls(grants, action, project_name)
        cell = cls.__new__(cls)
        cell.table = ActionTable.joined([part.table for part in parts], _explainer(action, project_name))
        cell.explanation = cell.table.constant
        return cell


def _explainer(action: str, project_name: str | None):
    def explain(decision):
        return Explanation(action, project_name, decision.outcome, decision.matched, decision.missing_keys)

    return explain


class Authorization:
    """One request's view of a user's compiled grants: decisions memoised for this request only.

    Time-dependent keys (g:CurrentTime) and request keys are fixed for the request, so a decision
    made twice in one request is made once; the next request starts afresh.
    """

    def __init__(self, grants: CompiledGrants, *, now: datetime | None = None, request_context: dict | None = None):
        self.grants = grants
        self.now = now or clock()
        self.request_context = request_context or {}
        self._memo: dict[tuple[str, str | None], Explanation] = {}
        self._bases: dict[tuple, dict] = {}  # lower-cased, by (service, region, project name)
        self._rows: dict[int, list] = {}  # by the id of the image asked about: see _row
        self._places: dict[tuple, dict] = {}  # action -> its entry (see _entry), by (project name, region)
        self._keys_read: frozenset[str] | None = None  # grants.keys_read, once an image is asked about

    @property
    def rules(self) -> tuple[GrantRule, ...]:
        return self.grants.rules

    @property
    def is_admin(self) -> bool:
        return self.grants.is_admin

    @property
    def project_names_with_any_permission(self) -> frozenset[str] | None:
        return self.grants.project_names_with_any_permission

    def decide(self, action: str, project=None, image=None, context: dict | None = None) -> Explanation:
        """Decide one request. `project` is a Project, a project name, or None (global)."""
        if context is not None:
            return self._decide(action, project, image, context)
        if image is None:
            project_name = getattr(project, "name", project)
            key = (action, project_name)
            memo = self._memo.get(key)
            if memo is None:
                memo = self._memo[key] = self._decide(action, project, None, None)
            return memo
        # An image's decision, the most asked (every button of every row): the row found by the image
        # object, the action's answer or deciders for the row's place by the action; the image's keys
        # are read only when a decider needs them (see _entry).
        row = self._rows.get(id(image))
        if row is None or row[0] is not project or row[1] is not image:
            row = self._row(project, image)
        entry = row[2].get(action)
        if entry is None:
            entry = self._entry(action, row)
        if entry.__class__ is Explanation:
            return entry
        keys = row[3]
        if keys is None:
            keys, plain = _row_keys(image, row[5], "ims:imagetype" in self._keys_read)
            row[3], row[4] = keys, plain
        if row[4]:  # every value None or a text: the decider's memo read here, without a call
            read = entry.read
            if read is row[7]:  # the values another action's decider read (deciders share readers)
                key = row[8]
            else:
                key = row[8] = read(keys)
                row[7] = read
            found = entry.answers.get(key)
            return entry.miss(keys, key) if found is None else found
        return entry.in_full(keys)

    def allows(self, action: str, project=None, image=None, context: dict | None = None) -> bool:
        return self.decide(action, project, image, context).allowed

    def condition_keys_read(self, action: str, project=None) -> frozenset[str]:
        """Condition keys (catalogue spelling) that the statements naming `action` here read:
        a decision that reads g:MFAPresent can change when the session verifies MFA."""
        table = self.grants.cell(action, getattr(project, "name", project)).table
        return frozenset() if table is None else table.key_names

    def conditional_effects(self, action: str, project=None) -> frozenset[str]:
        """Effects ("Allow", "Deny") of the statements naming `action` here that have conditions:
        their answer depends on the image or the request, so a grid cell says so."""
        table = self.grants.cell(action, getattr(project, "name", project)).table
        return frozenset() if table is None else table.conditional_effects

    def _decide(self, action, project, image, context) -> Explanation:
        project_name = getattr(project, "name", project)
        if image is not None and project_name is None:
            project_name = image.project.name
        cell = self.grants.cell(action, project_name)
        if cell.explanation is not None:
            return cell.explanation
        if context is not None:  # the simulator's typed-in values: never memoised
            return cell.table.decide(lower_keys(self._context(action, project, project_name, image, context)))
        if image is None:
            return cell.table.decide(self._base(action, project, project_name))
        return self.decide(action, project, image)

    def _base(self, action, project, project_name, region=None) -> dict[str, object]:
        """The request's context without an image, with lower-cased keys: built once per service,
        region and project for this request."""
        if project_name and region is None:
            region = requested_region(project, project_name)
        key = (_SERVICE_AND_IMAGE_KEYS[action][0], region, project_name)  # cell() has refused any other action
        found = self._bases.get(key)
        if found is None:
            found = self._bases[key] = lower_keys(self._context(action, project, project_name, None, None))
        return found

    def _row(self, project, image) -> list:
        """What deciding an image needs, once per image for this request: [project, image, the entries of
        its place (see _entry), its lower-cased keys (None until read), whether they are plain (see
        _row_keys), project name, region, the last reader of its keys and what it read].

        Found again by the image object's id (a page asks several actions of each row's image); the
        row holds the image, so its id cannot be reused while the row is kept. A page's rows each hold
        a project object of their own, so the place (project name, region) is read from each.
        """
        project_name = getattr(project, "name", project)
        if project_name is None:
            project_name = _related(image, "project").name
        keys_read = self._keys_read
        if keys_read is None:
            keys_read = self._keys_read = self.grants.keys_read
        region = None  # when no statement reads it, read once per place instead (_base)
        if project_name and "g:requestedregion" in keys_read:  # requested_region, from the loaded relations
            loaded = getattr(loaded_relation(project, "region"), "code", None)
            region = loaded or requested_region(project, project_name)
        place = self._places.get((project_name, region))
        if place is None:
            place = self._places[(project_name, region)] = {}
        row = self._rows[id(image)] = [project, image, place, None, False, project_name, region, None, None]
        return row

    def _entry(self, action, row) -> Explanation | RowDecider:
        """The action's answer for a row's place (project, region) when no image can change it (in this
        request: the conditions reading an image's keys may be none), else its decider of an image's keys
        (ActionTable.rows_for_request over this request's context), kept for the request."""
        project, place, project_name, region = row[0], row[2], row[5], row[6]
        cell = self.grants.cell(action, project_name)
        if cell.explanation is not None:
            entry = cell.explanation
        else:
            request = self._base(action, project, project_name, region)
            if not _SERVICE_AND_IMAGE_KEYS[action][1]:
                entry = cell.table.decide(request)  # an action no image supplies keys to
            else:
                entry = cell.table.rows_for_request(request, is_image_key)
        place[action] = entry
        return entry

    def _context(self, action, project, project_name, image, extra) -> dict[str, object]:
        """The request's context as build_request_context writes it (keys as spelled)."""
        image_keys = image_context(image, project_name) if image is not None and action in IMAGE_KEY_ACTIONS else None
        return build_request_context(
            action, user_id=self.grants.user_id, username=self.grants.username, project=project,
            project_name=project_name, now=self.now, request_keys=self.request_context,
            image_keys=image_keys, extra=extra,
        )

    def holds(self, action: str, project=None) -> bool:
        """Whether this user holds `action` here outright: allowed, by a statement without conditions,
        and no Deny statement naming it at all (conditional or not).

        Handing a permission to someone else asks this, not `allows`: a conditional allow or a
        conditional deny means the actor holds it only sometimes, so it is not theirs to give.
        """
        if not self.grants.is_active:
            return False
        if self.grants.is_admin:
            return True
        return self.grants.cell(action, getattr(project, "name", project)).table.holds


# Each catalogued action's service, and whether an image supplies keys to it (IMAGE_KEY_ACTIONS).
_SERVICE_AND_IMAGE_KEYS = {action.name: (action.service, action.name in IMAGE_KEY_ACTIONS) for action in ACTIONS}
_IMAGE_KEYS = frozenset({"ims:imagetype", "ims:ostype", "ims:platform", "ims:architecture"})
_TAG_PREFIX = "ims:resourcetag/"
_PLAIN_TYPES = frozenset({str, type(None)})  # the values ActionTable.for_request remembers
_TAG_KEYS: dict[str, str] = {}  # a tag's key to its condition key, lower-cased (a page's rows share a few)


def is_image_key(key: str) -> bool:
    """Whether an image may supply the lower-cased condition key `key` (see image_context)."""
    return key in _IMAGE_KEYS or key.startswith(_TAG_PREFIX)


def _row_keys(image, project_name: str | None, type_read: bool = True) -> tuple[RowKeys, bool]:
    """`lower_keys(image_context(image, project_name))`, built directly (a page builds one per row),
    and whether each of its values is None or exactly a text (ActionTable.for_request remembers those).
    Unless `type_read`, ims:imagetype holds the image's own type, not "shared" from another project
    (nothing reads it: the image's project is not looked up)."""
    image_type, os_type, platform, architecture = image.image_type, image.os_type, image.platform, image.architecture
    if image_type == "private" and project_name and type_read:
        image_type = _private_seen_from(image, image_type, project_name)
    keys = RowKeys()
    keys["ims:imagetype"] = image_type
    keys["ims:ostype"] = os_type
    keys["ims:platform"] = platform
    keys["ims:architecture"] = architecture
    # Exact texts, the common case, told as the keys are read; anything else by the set of their types.
    plain = type(image_type) is type(os_type) is type(platform) is type(architecture) is str
    tags = prefetched_rows(image, "tags")
    if tags is None:
        tags = image.tags.all()
    spelled = _TAG_KEYS.get
    for tag in tags:
        key = spelled(tag.key)
        if key is None:
            key = f"ims:ResourceTag/{tag.key}".lower()
            if type(tag.key) is str and len(_TAG_KEYS) < _CACHE_SIZE * 8:
                _TAG_KEYS[tag.key] = key
        value = keys[key] = tag.value
        if type(value) is not str:
            plain = False
    if len(keys) != len(_IMAGE_KEYS) + len(tags):
        # Two tags spelling one key (no tag key is one of the four above): lower_keys keeps the last
        # of image_context's order, which is not always the last tag's.
        keys, plain = RowKeys(lower_keys(image_context(image, project_name))), False
    return keys, plain or _PLAIN_TYPES.issuperset(map(type, keys.values()))


def _private_seen_from(image, image_type, project_name: str):
    """A private image's ims:ImageType (`image_type`) seen from `project_name`: "shared" in any project
    but its own."""
    return image_type if _related(image, "project").name == project_name else "shared"


def _related(instance, name: str):
    """`instance.<name>` (None if it has none), read from the model's cache of loaded relations when it
    is there: the descriptor costs as much as the rest of a page row's keys (its project, its region)."""
    found = loaded_relation(instance, name)
    return getattr(instance, name, None) if found is None else found


def build_request_context(action: str, *, user_id, username, project=None, project_name=None, now=None,
                          request_keys=None, image_keys=None, extra=None) -> dict[str, object]:
    """The condition keys a request supplies (SPEC 5.3): the one builder for real requests and the simulator.

    Order matters: global keys, then what the HTTP request knows (g:SourceIp, MFA), then the
    image's keys, then anything the caller adds (the simulator's typed-in values).
    """
    service = SERVICES[get_action(action).service]
    project_name = project_name or getattr(project, "name", project)
    context: dict[str, object] = {
        "g:DomainName": DOMAIN_NAME,
        "g:ServiceName": service.name,
        "g:CurrentTime": now or clock(),
        "g:MFAPresent": False,
    }
    if user_id is not None:
        context["g:UserId"] = str(user_id)
        context["g:UserName"] = username
    context.update(request_keys or {})
    if project_name:
        context["g:ProjectName"] = project_name
        context["g:RequestedRegion"] = requested_region(project, project_name)
    if image_keys:
        context.update(image_keys)
    if extra:
        context.update(extra)
    return context


def requested_region(project, project_name: str) -> str:
    """g:RequestedRegion: the project's region, or the region part of its name (`<region>_<sub>`)."""
    if project is not None and not isinstance(project, str):
        code = getattr(_related(project, "region"), "code", None)
        if code:
            return code
    return project_name.split("_", 1)[0]


# --- loading and caching -------------------------------------------------------------------

_lock = threading.Lock()  # the memo dictionaries of one CompiledGrants (its covering grants and cells)
# A user's compiled grants by (user id, stamp), and compiled documents by their content.
_COMPILED_GRANTS: ProcessCache[CompiledGrants] = ProcessCache("compiled grants", _CACHE_SIZE)
_COMPILED_DOCUMENTS: ProcessCache[CompiledPolicy] = ProcessCache("compiled documents", 4 * _CACHE_SIZE)
# The grants of a set of groups by (group ids, admin, stamp), held by nobody: shared by their members.
_COMPILED_GROUPS: ProcessCache[tuple[datetime, CompiledGrants]] = ProcessCache("compiled group grants", _CACHE_SIZE)
# Condition keys the current HTTP request supplies, set by RequestKeysMiddleware from request_keys_for.
request_keys: ContextVar[dict[str, object] | None] = ContextVar("imsperm_request_keys", default=None)


def request_keys_for(request) -> dict[str, object]:
    """The condition keys only the HTTP request knows: g:SourceIp, g:MFAPresent, g:MFAAge.

    The one place they are built: real requests (RequestKeysMiddleware) and the simulator use it.
    """
    from . import mfa
    from .client_address import client_address

    return {"g:SourceIp": client_address(request), **mfa.session_keys(request)}


def refresh_request_keys(request) -> None:
    """Rebuild this request's keys after it changed them (the session just verified MFA)."""
    request_keys.set(request_keys_for(request))
    forget(request.user)


def clock() -> datetime:
    """The engine's clock, the one seam for time: g:CurrentTime, and whether a grant has ended.
    Tests freeze it by patching django.utils.timezone.now."""
    return timezone.now()


def live(grants, moment: datetime | None = None):
    """`grants` (a Grant queryset) without those ended at `moment` (now): what the engine decides with."""
    return grants.filter(Q(expires__isnull=True) | Q(expires__gt=moment or clock()))


_STAMP_ROW = RowsByKey(AuthorizationStamp, "id")  # read at the start of every request: compiled once


def current_stamp() -> str:
    """The database's authorization stamp (one query)."""
    found = _STAMP_ROW.rows([1])
    return found[0].value if found else ""


def bump_stamp() -> None:
    """Make every process reload permissions on its next request. Call inside the writing transaction."""
    token = uuid.uuid4().hex
    if not AuthorizationStamp.objects.filter(pk=1).update(value=token):
        AuthorizationStamp.objects.update_or_create(pk=1, defaults={"value": token})


def compile_cached(document: dict) -> CompiledPolicy:
    """Compile a document once per process, keyed by its content (ids can be reused; text cannot lie)."""
    key = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return _COMPILED_DOCUMENTS.get_or_build(key, lambda: compile_document(document))


def grant_rule(grant, document: dict | None = None) -> GrantRule:
    """A Grant (with group, policy and projects loaded) as the engine sees it.

    `document` replaces the policy's document: "what if this policy said that" (a restore's review).
    """
    document = grant.policy.document if document is None else document
    return GrantRule(
        grant_id=grant.pk,
        group_name=grant.group.name,
        policy_id=grant.policy_id,
        policy_name=grant.policy.name,
        policy_kind=grant.policy.kind_label,
        all_resources=grant.all_resources,
        project_names=frozenset(p.name for p in grant.projects.all()),
        document=document,
        compiled=compile_cached(document),
        expires=grant.expires,
    )


def load_grants(user, stamp: str, moment: datetime | None = None) -> CompiledGrants:
    """Load and compile a user's grants not ended at `moment` (now), read afresh: three queries,
    whatever the number of groups and grants."""
    group_ids, is_admin = _groups_of(user)
    grants = _load_group_grants(group_ids, is_admin, stamp, moment or clock())
    return grants.for_member(user_id=user.pk, username=user.get_username(), is_active=user.is_active)


def _groups_of(user) -> tuple[tuple[int, ...], bool]:
    """The ids of the user's groups, and whether one is the built-in admin group (one query)."""
    groups = list(Membership.objects.filter(user_id=user.pk).order_by("group_id")
                  .values_list("group_id", "group__name", "group__is_builtin"))
    return (tuple(group_id for group_id, _name, _builtin in groups),
            any(name == ADMIN_GROUP_NAME and builtin for _id, name, builtin in groups))


def _load_group_grants(group_ids: tuple[int, ...], is_admin: bool, stamp: str, moment: datetime) -> CompiledGrants:
    """The grants of these groups not ended at `moment`, compiled, held by nobody yet (two queries)."""
    grants = list(
        live(Grant.objects.filter(group_id__in=group_ids), moment)
        .select_related("group", "policy")
        .prefetch_related("projects")
        .order_by("group__name", "policy__name")
    )
    return CompiledGrants(user_id=None, username="", is_active=True, is_admin=is_admin,
                          rules=[grant_rule(g) for g in grants], stamp=stamp)


def _shared_grants(user, stamp: str, moment: datetime) -> CompiledGrants:
    """load_grants for a request, at the database's current stamp: the user's groups read afresh (one
    query), their grants compiled once per process for each set of groups at this stamp and shared by
    every member (`for_member`). Each change to memberships, grants or policies bumps the stamp, so
    after one the next member of a set of groups costs that one query, not three and the compilation
    of its decision table again. A set compiled at a later moment than `moment` is not used (a clock
    held back, in tests: a grant ended then may not have ended yet now)."""
    group_ids, is_admin = _groups_of(user)
    _built, grants = _COMPILED_GROUPS.get_or_build(
        (group_ids, is_admin, stamp), lambda: (moment, _load_group_grants(group_ids, is_admin, stamp, moment)),
        still_valid=lambda kept: kept[0] <= moment and kept[1].valid_at(moment))
    return grants.for_member(user_id=user.pk, username=user.get_username(), is_active=user.is_active)


def authorization_for(user) -> Authorization | None:
    """The user's compiled permissions, memoised on the user object for the rest of the request.

    One query (the stamp) per request when the process cache is warm; None for anonymous users.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    memo = getattr(user, _USER_ATTR, None)
    if memo is not None:
        return memo
    stamp = current_stamp()
    moment = clock()
    grants = _COMPILED_GRANTS.get_or_build(
        (user.pk, stamp), lambda: _shared_grants(user, stamp, moment),
        still_valid=lambda kept: kept.is_active == user.is_active and kept.valid_at(moment))
    authorization = Authorization(grants, now=moment, request_context=request_keys.get())
    setattr(user, _USER_ATTR, authorization)
    return authorization


def forget(user) -> None:
    """Drop the per-request memo (tests and long-running commands that change grants)."""
    if hasattr(user, _USER_ATTR):
        delattr(user, _USER_ATTR)


def decide(user, action: str, project=None, image=None, context: dict | None = None) -> Explanation:
    """Decide for any user object; anonymous users are denied everything."""
    authorization = authorization_for(user)
    if authorization is None:
        return Explanation(action, getattr(project, "name", project), "implicit_deny")
    return authorization.decide(action, project, image, context)
