"""A fuzz of bad input over every console form and JSON field: no exception, no 5xx, no half-write.

Every endpoint that takes input gets, in each of its fields in turn (the other fields valid),
each hostile value of a fixed corpus: a NUL byte (PostgreSQL refuses it in text), a lone
surrogate (escaped in JSON, or as the UTF-8 bytes a client could send), very long text, huge and
negative integers, 23-digit ids, 100k-deep JSON, an infinite float, emptiness and a repeated key.
The persona is `admin`, allowed everything, so each request goes as deep as the input lets it.

Each request runs in a savepoint that is rolled back, so every one starts from the same demo
state and its effect is measured alone: a refusal (4xx) must leave every IAM and image table
as it was (no half-write), and whatever was written must be storable on PostgreSQL (no NUL, no
surrogate, every label within its column) — SQLite would accept what PostgreSQL refuses.

Images tests have their own file (tests/images/test_bad_input.py) for the messages users read;
this one is about never failing, everywhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DataError, connection, models, transaction
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.management.commands.seed_demo import demo_id
from accounts.models import (
    AuditEvent,
    AuthorizationStamp,
    Grant,
    Membership,
    Policy,
    Project,
    Region,
    User,
    UserGroup,
)
from images.models import Image, ImageMember, ImageTag
from preferences.models import UserPreference

from .images.conftest import qcow2_bytes

pytestmark = [pytest.mark.usefixtures("demo"), pytest.mark.sweep]

HOSTILE: dict[str, str | bytes | list[str]] = {
    "nul": "a\x00b",
    "surrogate-bytes": b"\xed\xa0\x80",  # what "\ud800" would be in UTF-8, were it encodable
    "invalid-utf8": b"\xff\xfe",
    "long": "x" * 100_000,
    "5000-digits": "9" * 5000,
    "23-digit-id": "9" * 23,
    "negative": "-" + "9" * 23,
    "infinite-float": "1e999",
    "empty": "",
    "repeated": ["1", "9" * 23],
}

def document(condition: str = "") -> str:
    """A valid policy document as JSON text, with `condition` as the body of its Condition block."""
    block = f', "Condition": {{{condition}}}' if condition else ""
    return f'{{"Version": "1.1", "Statement": [{{"Effect": "Allow", "Action": ["ims:images:list"]{block}}}]}}'


# For the fields that hold JSON: hostile text, and hostile values inside otherwise valid documents.
JSON_HOSTILE = {
    "escaped-surrogate": '{"\\ud800": 1}',
    "deep-json": "[" * 100_000 + "]" * 100_000,
    "blank": "   ",
    "json-surrogate-key": document('"StringEquals": {"\\ud800": "x"}'),
    "json-surrogate-value": document('"StringEquals": {"g:UserName": "a\\udfffb"}'),
    "json-nul-value": document('"StringEquals": {"g:UserName": "a\\u0000b"}'),
    "json-5000-digits": document('"NumberEquals": {"g:MFAAge": ' + "9" * 5000 + "}"),
    "json-4000-digits": document('"NumberLessThan": {"g:MFAAge": ' + "9" * 4000 + "}"),
    "json-infinite": document('"NumberEquals": {"g:MFAAge": 1e999}'),
    "json-deep-condition": document('"StringEquals": {"g:UserName": ' + "[" * 50_000 + "]" * 50_000 + "}"),
    "json-wrong-types": '{"Version": 1.1, "Statement": {"Effect": true, "Action": [[], {}, null]}}',
    "json-surrogate-pair": document('"StringEquals": {"g:UserName": "\\ud83d\\ude00"}'),
}

WATCHED = (User, UserGroup, Membership, Policy, Grant, Grant.projects.through, Region, Project, Image, ImageTag,
           ImageMember, AuthorizationStamp, UserPreference)


# --- the endpoints -------------------------------------------------------------------------


def _image(name: str) -> Image:
    return Image.objects.get(pk=demo_id(name))


ACTIVE = "cn-north-4-centos-data-01"  # active private image of cn-north-4, shared (pending) with ap-southeast-1
QUEUED = "eu-west-101-windows-data-07"  # queued qcow2 of eu-west-101
PENDING_FOR_NORTH = "eu-west-101-euleros-system-00"  # shared with cn-north-4, pending


@dataclass
class Endpoint:
    """One URL and a valid body for it, read from the current demo state."""

    name: str
    url: Callable[[], str]
    data: Callable[[], dict]
    method: str = "POST"
    json_fields: tuple[str, ...] = ()
    files: dict = field(default_factory=dict)


def _group(name="viewers"):
    return UserGroup.objects.get(name=name)


def _user(name="viewer"):
    return User.objects.get(username=name)


def _custom_policy():
    return Policy.objects.get(name="DenyImageDeletion")


def _image_url(name, operation, project="cn-north-4"):
    return f"/images/{demo_id(name)}/{operation}/?project={project}"


def _modify_data():
    image = _image(ACTIVE)
    return {"name": image.name, "description": image.description, "os_version": image.os_version,
            "min_disk": str(image.min_disk), "min_ram": str(image.min_ram), "protected": "",
            "revision": str(image.revision)}


def _simulator_data():
    return {"subject": "document", "user": "viewer", "document": document(), "actions": "ims:images:list",
            "project": "cn-north-4", "context": "g:UserName=x"}


def _visual_data():
    return {"mode": "visual", "to": "json", "visual-count": "1", "s0-effect": "Allow", "s0-service": "ims",
            "s0-actions": "ims:images:list", "s0-conditions": "1", "s0-c0-operator": "StringEquals",
            "s0-c0-key": "g:UserName", "s0-c0-values": "a, b", "visual-op": "add-condition:0"}


@pytest.fixture(autouse=True)
def pending_access_request(demo):
    """A viewer's pending request to delete images in cn-north-4, made before any measured request."""
    from datetime import timedelta

    from accounts.services import access_requests

    return access_requests.ask(actor=_user(), action="ims:images:delete",
                               project=Project.objects.get(name="cn-north-4"),
                               duration=timedelta(hours=8), justification="fuzz")


def _pending_request():
    from accounts.models import AccessRequest

    return AccessRequest.objects.get(requester__username="viewer", status=AccessRequest.Status.PENDING)


ENDPOINTS = [
    Endpoint("access-request-new", lambda: "/iam/access-requests/new/", lambda: {
        "what": "action:ims:images:delete", "project": "cn-north-4", "duration": "8h", "justification": "why"}),
    Endpoint("access-request-approve", lambda: f"/iam/access-requests/{_pending_request().pk}/approve/",
             lambda: {"duration": "1h", "note": "ok"}),
    Endpoint("access-request-deny", lambda: f"/iam/access-requests/{_pending_request().pk}/deny/",
             lambda: {"reason": "not now"}),
    # images
    Endpoint("image-list", lambda: "/images/", lambda: {
        "project": "cn-north-4", "tab": "private", "q": "centos", "tag": "env=dev", "sort": "-size", "page": "2",
        "size": "25", "os_type": "Linux", "status": "active"}, method="GET"),
    Endpoint("image-create", lambda: "/images/create/?project=cn-north-4", lambda: {
        "name": "fuzz-image", "kind": "system", "description": "d", "os_type": "Linux", "platform": "Ubuntu",
        "os_version": "22.04", "os_bit": "64", "architecture": "x86", "disk_format": "qcow2", "min_disk": "40",
        "min_ram": "1024"}),
    Endpoint("image-modify", lambda: _image_url(ACTIVE, "modify"), _modify_data),
    Endpoint("image-tags", lambda: _image_url(ACTIVE, "tags"),
             lambda: {"tags": "env=prod\nteam=a", "revision": str(_image(ACTIVE).revision)}),
    Endpoint("image-share", lambda: _image_url(ACTIVE, "share"), lambda: {"projects": "eu-west-101, cn-north-4_dev"}),
    Endpoint("image-unshare", lambda: _image_url(ACTIVE, "unshare"), lambda: {"project": "ap-southeast-1"}),
    Endpoint("image-replicate", lambda: _image_url(ACTIVE, "replicate"), lambda: {"target": "cn-north-4_dev"}),
    Endpoint("image-upload", lambda: _image_url(QUEUED, "upload", "eu-west-101"), lambda: {"note": "x"},
             files={"file": lambda: SimpleUploadedFile("disk.qcow2", qcow2_bytes(2048))}),
    Endpoint("image-export", lambda: _image_url(ACTIVE, "export"), lambda: {"next": "/images/"}),
    Endpoint("image-accept", lambda: _image_url(PENDING_FOR_NORTH, "accept"), lambda: {"next": "/images/"}),
    Endpoint("image-delete", lambda: _image_url(ACTIVE, "delete"), lambda: {"next": "/images/?tab=private"}),
    Endpoint("image-bulk-export", lambda: "/images/bulk/export/?project=cn-north-4",
             lambda: {"ids": [str(demo_id(ACTIVE))], "next": "/images/"}),
    Endpoint("image-bulk-accept", lambda: "/images/bulk/accept/?project=cn-north-4",
             lambda: {"ids": [str(demo_id(PENDING_FOR_NORTH))], "next": "/images/?tab=awaiting"}),
    # IAM users
    Endpoint("user-list", lambda: "/iam/users/", lambda: {"q": "view", "group": str(_group().pk), "active": "yes",
                                                          "page": "1"}, method="GET"),
    Endpoint("user-create", lambda: "/iam/users/new/", lambda: {
        "username": "fuzz-user", "email": "f@example.com", "first_name": "F", "last_name": "U", "is_active": "on",
        "password_mode": "set", "password1": "Fuzz-password-1234", "password2": "Fuzz-password-1234"}),
    Endpoint("user-edit", lambda: f"/iam/users/{_user().pk}/edit/", lambda: {
        "email": "v@example.com", "first_name": "V", "last_name": "W", "revision": str(_user().revision)}),
    Endpoint("user-active", lambda: f"/iam/users/{_user().pk}/active/", lambda: {"active": "0"}),
    Endpoint("user-password", lambda: f"/iam/users/{_user().pk}/password/", lambda: {
        "password_mode": "set", "password1": "Fuzz-password-1234", "password2": "Fuzz-password-1234"}),
    Endpoint("user-group-add", lambda: f"/iam/users/{_user('newcomer').pk}/groups/add/",
             lambda: {"group": str(_group().pk)}),
    # IAM groups
    Endpoint("group-list", lambda: "/iam/groups/", lambda: {"q": "view", "page": "1"}, method="GET"),
    Endpoint("group-create", lambda: "/iam/groups/new/", lambda: {"name": "fuzz-group", "description": "d"}),
    Endpoint("group-edit", lambda: f"/iam/groups/{_group().pk}/edit/", lambda: {
        "name": "viewers", "description": "d", "revision": str(_group().revision)}),
    Endpoint("group-candidates", lambda: f"/iam/groups/{_group().pk}/members/candidates/", lambda: {"q": "new"},
             method="GET"),
    Endpoint("group-member-add", lambda: f"/iam/groups/{_group().pk}/members/add/",
             lambda: {"user": str(_user("newcomer").pk)}),
    Endpoint("group-attach-review", lambda: f"/iam/groups/{_group().pk}/permissions/attach/", lambda: {
        "policies": [str(_custom_policy().pk)], "scope": "projects", "projects": [str(Project.objects.get(
            name="cn-north-4").pk)], "step": "review"}),
    Endpoint("group-attach-confirm", lambda: f"/iam/groups/{_group().pk}/permissions/attach/", lambda: {
        "policies": [str(_custom_policy().pk)], "scope": "all", "step": "confirm"}),
    Endpoint("group-detach", lambda: f"/iam/groups/{_group('developers').pk}/permissions/detach/",
             lambda: {"policies": [str(_custom_policy().pk)]}),
    Endpoint("group-detach-review", lambda: f"/iam/groups/{_group('developers').pk}/permissions/detach/",
             lambda: {"policies": [str(_custom_policy().pk)]}, method="GET"),
    # policies, editor, validator, simulator
    Endpoint("policy-list", lambda: "/iam/policies/", lambda: {"kind": "custom", "q": "deny"}, method="GET"),
    Endpoint("policy-create", lambda: "/iam/policies/new/", lambda: {
        "name": "fuzz-policy", "description": "d", "mode": "json", "document": document()},
        json_fields=("document",)),
    Endpoint("policy-edit", lambda: f"/iam/policies/{_custom_policy().pk}/edit/", lambda: {
        "name": "DenyImageDeletion", "description": "d", "mode": "json", "document": document(),
        "revision": str(_custom_policy().revision)}, json_fields=("document",)),
    Endpoint("policy-edit-visual", lambda: f"/iam/policies/{_custom_policy().pk}/edit/", lambda: {
        **_visual_data(), "name": "DenyImageDeletion", "revision": str(_custom_policy().revision)}),
    Endpoint("policy-switch-to-visual", lambda: "/iam/policies/editor/", lambda: {
        "mode": "json", "to": "visual", "document": document()}, json_fields=("document",)),
    Endpoint("policy-switch-to-json", lambda: "/iam/policies/editor/", _visual_data),
    Endpoint("policy-validate", lambda: "/iam/policies/validate/", lambda: {"mode": "json", "document": document()},
             json_fields=("document",)),
    Endpoint("policy-clone", lambda: f"/iam/policies/{_custom_policy().pk}/clone/",
             lambda: {"name": "fuzz-clone", "description": "d"}),
    Endpoint("simulator", lambda: "/iam/simulator/", _simulator_data, method="GET", json_fields=("document",)),
    Endpoint("simulator-user", lambda: "/iam/simulator/", lambda: {**_simulator_data(), "subject": "user"},
             method="GET"),
    Endpoint("simulator-effective", lambda: "/iam/simulator/effective/", lambda: {"user": "viewer"}, method="GET"),
    Endpoint("audit", lambda: "/iam/audit/", lambda: {
        "user": "admin", "action": "ims:images:delete", "outcome": "denied", "date_from": "2020-01-01",
        "date_to": "2030-01-01", "page": "1"}, method="GET"),
    Endpoint("audit-export", lambda: "/iam/audit/export.csv", lambda: {"user": "admin", "outcome": "allowed"},
             method="GET"),
    # a person's own preferences: the settings form and the top bar's switches
    Endpoint("preferences", lambda: "/me/preferences/", lambda: {
        "time_zone": "Asia/Shanghai", "theme": "dark", "language": "zh-hans"}),
    Endpoint("theme-switch", lambda: "/me/preferences/theme/", lambda: {"theme": "light", "next": "/images/"}),
    Endpoint("language-switch", lambda: "/me/preferences/language/", lambda: {"language": "zh-hans", "next": "/"}),
    Endpoint("time-zone-detect", lambda: "/me/preferences/time-zone/detect/", lambda: {"time_zone": "Europe/Paris"}),
    # Django admin: the policy form parses JSON too
    Endpoint("admin-policy-add", lambda: "/admin/accounts/policy/add/", lambda: {
        "name": "fuzz-admin-policy", "description": "d", "document": document()}, json_fields=("document",)),
    Endpoint("admin-policy-change", lambda: f"/admin/accounts/policy/{_custom_policy().pk}/change/", lambda: {
        "name": "DenyImageDeletion", "description": "d", "document": document()}, json_fields=("document",)),
    Endpoint("admin-group-add", lambda: "/admin/accounts/usergroup/add/",
             lambda: {"name": "fuzz-group", "description": ""}),
    Endpoint("admin-grant-add", lambda: "/admin/accounts/grant/add/", lambda: {
        "group": str(_group().pk), "policy": str(_custom_policy().pk), "all_resources": "on", "projects": []}),
]


# --- sending and measuring ------------------------------------------------------------------


def _values(endpoint: Endpoint, name: str):
    yield from HOSTILE.items()
    if name in endpoint.json_fields:
        yield from JSON_HOSTILE.items()


def _send(client, endpoint: Endpoint, data: dict, htmx: bool):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    url = endpoint.url()
    if endpoint.method == "GET":
        separator = "&" if "?" in url else "?"
        return client.get(url + separator + urlencode(data, doseq=True), **headers)
    if endpoint.files:
        body = {k: v for k, v in data.items() if not isinstance(v, bytes)}
        body.update({k: make() if callable(make) else make for k, make in endpoint.files.items() if k not in data})
        return client.post(url, body, **headers)
    return client.post(url, urlencode(data, doseq=True), content_type="application/x-www-form-urlencoded", **headers)


def snapshot() -> dict:
    """Every watched row, and how many events say something was done."""
    rows = {model._meta.label: {row["pk"] if "pk" in row else row["id"]: row
                                for row in model.objects.values()} for model in WATCHED}
    rows["events done"] = AuditEvent.objects.exclude(outcome=AuditEvent.Outcome.DENIED).count()
    return rows


def _unstorable(value) -> str:
    """Why PostgreSQL would refuse `value`, or ""."""
    if isinstance(value, str):
        if "\x00" in value:
            return "NUL in text"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "a lone surrogate in text"
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, allow_nan=True)
        if "\\u0000" in text or re.search(r"\bNaN\b|\bInfinity\b", text):
            return "JSON that jsonb refuses"
        return _unstorable(text)
    return ""


def _column_problems(model, rows) -> list[str]:
    fields = {f.attname: f for f in model._meta.concrete_fields}
    problems = []
    for row in rows:
        for name, value in row.items():
            column = fields.get(name)
            why = _unstorable(value)
            if why:
                problems.append(f"{model._meta.label}.{name}: {why}")
            if isinstance(column, models.CharField) and isinstance(value, str) and len(value) > column.max_length:
                problems.append(f"{model._meta.label}.{name}: {len(value)} characters > {column.max_length}")
    return problems


def _written(before: dict, after: dict, last_event: int) -> list[str]:
    problems = []
    for model in WATCHED:
        label = model._meta.label
        changed = [row for pk, row in after[label].items() if before[label].get(pk) != row]
        problems += _column_problems(model, changed)
    problems += _column_problems(AuditEvent, AuditEvent.objects.filter(pk__gt=last_event).values())
    return problems


def _as_postgresql_would(execute, sql, params, many, context):
    """Refuse query parameters that PostgreSQL refuses (text with NUL or a lone surrogate), which
    SQLite would take: a search for "a\x00b" must not reach the database at all."""
    for row in (params if many else [params]) or ():
        for value in (row.values() if isinstance(row, dict) else row) or ():
            if isinstance(value, str) and _unstorable(value):
                raise DataError(f"PostgreSQL would refuse {value[:40]!r}: {_unstorable(value)}")
    return execute(sql, params, many, context)


def _try(client, endpoint: Endpoint, data: dict, htmx: bool, before: dict | None = None,
         ) -> tuple[int | None, list[str]]:
    """Send one request in a savepoint that is rolled back: its status, and what went wrong.

    `before` may be given: every request starts from the same state, as each is rolled back.
    """
    with transaction.atomic():
        before = before or snapshot()
        last_event = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        try:
            with connection.execute_wrapper(_as_postgresql_would):
                response = _send(client, endpoint, data, htmx)
        except Exception as error:  # the point of the fuzz: none may escape
            transaction.set_rollback(True)
            return None, [f"raised {type(error).__name__}: {str(error)[:200]}"]
        after = snapshot()
        problems = _written(before, after, last_event)
        if response.status_code >= 500:
            problems.append(f"answered {response.status_code}")
        elif response.status_code >= 400 and before != after:
            changed = [label for label in before if before[label] != after[label]]
            problems.append(f"refused ({response.status_code}) but changed {', '.join(changed)}")
        transaction.set_rollback(True)
    return response.status_code, problems


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_hostile_values_in_every_field_fail_cleanly(as_user, endpoint):
    client = as_user("admin")
    base = endpoint.data()
    before = snapshot()
    failures = []
    for name in [*base, *endpoint.files]:
        for number, (label, value) in enumerate(_values(endpoint, name)):
            _, problems = _try(client, endpoint, {**base, name: value}, htmx=number % 2 == 1, before=before)
            failures += [f"{name}={label}: {problem}" for problem in problems]
    assert failures == []


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_each_valid_body_goes_through(as_user, endpoint):
    """The fuzz means something only if, but for the hostile value, each request would be accepted:
    the other fields valid, the one under test is the only reason to refuse."""
    status, problems = _try(as_user("admin"), endpoint, endpoint.data(), htmx=False)
    assert problems == [] and status < 400


# --- every id in every URL -------------------------------------------------------------------

HOSTILE_IDS = ("9" * 23, "9" * 5000)


def _patterns(resolver=None, prefix=""):
    for entry in (resolver or get_resolver()).url_patterns:
        pattern = str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + pattern)
        elif isinstance(entry, URLPattern) and "<" in pattern and not pattern.startswith("^"):
            yield prefix + pattern


def _filled(pattern: str, hostile: str) -> str:
    path = re.sub(r"<(int|path):\w+>", hostile, pattern)
    path = re.sub(r"<uuid:\w+>", str(demo_id(ACTIVE)), path)
    return "/" + re.sub(r"<(?:slug|str):\w+>", "export", path)


ID_ROUTES = sorted({p for p in _patterns() if re.search(r"<(int|path):", p)})


def test_every_route_with_an_id_is_covered():
    assert len(ID_ROUTES) >= 20  # users, groups, policies, and Django admin's object pages


@pytest.mark.parametrize("pattern", ID_ROUTES)
def test_an_id_beyond_64_bits_in_any_url_is_not_a_server_error(as_user, pattern):
    client = as_user("admin")
    before = snapshot()
    failures = []
    for hostile in HOSTILE_IDS:
        for method in ("get", "post"):
            endpoint = Endpoint(pattern, lambda hostile=hostile: _filled(pattern, hostile), dict, method.upper())
            _, problems = _try(client, endpoint, {}, htmx=False, before=before)
            failures += [f"{method} {hostile[:5]}…: {problem}" for problem in problems]
    assert failures == []


# --- NUL anywhere in a request -------------------------------------------------------------------


@pytest.mark.parametrize("where", ["path", "query", "form", "cookie"])
def test_a_nul_anywhere_is_refused_with_400_before_anything_reads_it(as_user, where):
    client = as_user("admin")
    url, data = "/iam/groups/", None
    if where == "path":
        url = "/admin/accounts/policy/1%00/change/"
    elif where == "query":
        url = "/iam/groups/?q=a%00b"
    elif where == "form":
        url, data = "/iam/groups/new/", "name=a%00b"
    else:
        client.cookies["sessionid"] = "aaaaaaaa\x00"
    with connection.execute_wrapper(_as_postgresql_would):
        if data is None:
            response = client.get(url)
        else:
            response = client.post(url, data, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "contains a NUL character" in response.content.decode()


def test_an_htmx_request_with_a_nul_gets_the_refusal_as_a_message(as_user):
    response = as_user("admin").get("/iam/groups/?q=%00", HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#messages"
    assert 'data-testid="refusal"' in response.content.decode()


# --- ids that cannot be in the column --------------------------------------------------------


def test_an_in_lookup_with_values_no_id_can_have_matches_only_the_real_ids():
    policy = Policy.objects.get(name="DenyImageDeletion")
    hostile = ["9" * 23, "-" + "9" * 23, "abc", "a\x00b", None]
    assert list(Policy.objects.filter(pk__in=hostile)) == []
    assert list(Policy.objects.filter(pk__in=[*hostile, str(policy.pk)])) == [policy]
    assert list(Policy.objects.exclude(pk__in=hostile).filter(pk=policy.pk)) == [policy]
