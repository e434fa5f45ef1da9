"""The route crawler: every URL pattern × every HTTP method × every demo persona and anonymous.

Routes come from `get_resolver()` (walked through every include), their kwargs filled with real
demo objects. The expected answer is derived from the route's declared permission
(accounts/permissions.py) and the policy engine, never from the view:

- anonymous → a redirect to sign-in, unless the route is declared public;
- the engine refuses the declared action → 403 with a `denied` audit event (or 405 before any
  decision, for a method the route never accepts: nothing decided, nothing written);
- the engine allows → anything but 403 or 500 (200, 302, 404, 405, 409, 422 are answers). A 403
  is accepted only when a service refused on a rule beyond the action (escalation) and audited it;
- an image the persona's projects don't see → 404 (the engine's reachable projects);
- never a 500 for anyone.

Django admin routes are covered by admin's own has_*_permission (backed by the engine, see
accounts/backends.py): anonymous users are sent to admin sign-in, signed-in non-staff users get
the console's 403 (Django admin is for operators), staff never see a 500, and personas made staff
get 403 wherever the engine refuses the model permission a route asks for (admin may refuse more
than the engine, never less). The non-staff answer depends on is_staff alone, never on grants, so one
non-staff persona (NON_STAFF_ADMIN_WITNESS) takes the admin routes for all of them: the others' 456
requests each would repeat its answers (tests/admin/test_admin_suite.py asks them again as viewer).

Each request runs in a savepoint rolled back afterwards, so a POST that succeeds changes nothing
for the next case. Counts are printed for the closing note (run with -s).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import product

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts import authz
from accounts.management.commands.seed_demo import PERSONAS, demo_id
from accounts.models import AuditEvent, Grant, Policy, Project, Region, User, UserGroup
from accounts.permissions import declaration_of, login_only, permission_required_action, public_view
from federation.models import FederatedIdentity, IdentityProvider
from images.models import Image, ImageExport
from images.operations import BULK_OPERATIONS

pytestmark = pytest.mark.usefixtures("demo")

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
PERSONA_NAMES = tuple(name for name, *_ in PERSONAS)
# The project each persona works in, and a private image it owns there (active, unprotected).
HOME = {name: ("cn-north-4", "cn-north-4-ubuntu-system-00") for name in PERSONA_NAMES}
HOME["developer"] = ("cn-north-4_dev", "cn-north-4-dev-centos-system-00")
ANONYMOUS = "anonymous"
NON_STAFF_ADMIN_WITNESS = "newcomer"  # the signed-in non-staff persona that takes Django admin's routes
CASES = Counter()  # (persona, kind of answer) → requests, summed over the session for the summary


@dataclass(frozen=True)
class Route:
    """One URL pattern: its full route text, the names of its namespaces, and the pattern itself."""

    route: str
    namespaces: tuple[str, ...]
    pattern: URLPattern

    @property
    def is_admin(self) -> bool:
        return "admin" in self.namespaces

    @property
    def name(self) -> str:
        return ":".join((*self.namespaces, self.pattern.name or self.route))


def routes(patterns=None, prefix="", namespaces=()) -> list[Route]:
    """Every URL pattern of the project, through every include."""
    found = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            space = (*namespaces, entry.namespace) if entry.namespace else namespaces
            found += routes(entry.url_patterns, prefix + str(entry.pattern), space)
        else:
            found.append(Route(prefix + str(entry.pattern), namespaces, entry))
    return found


def undeclared(all_routes) -> list[str]:
    """Routes outside Django admin whose view declares no permission (not even "none needed")."""
    return [r.name for r in all_routes if not r.is_admin and declaration_of(r.pattern.callback) is None]


# --- the declaration check -------------------------------------------------------------------


def test_every_route_declares_its_permission():
    assert undeclared(routes()) == []


def test_an_undeclared_view_is_reported():
    """The check above can fail: a route whose view forgot its declaration is named."""
    from django.urls import path

    def forgot(request):
        return HttpResponse()

    declared = [path("a/", public_view(lambda r: HttpResponse()), name="a"),
                path("b/", login_only(lambda r: HttpResponse()), name="b"),
                path("c/", permission_required_action("iam:users:listUsers")(lambda r: HttpResponse()), name="c")]
    assert undeclared(routes([*declared, path("forgot/", forgot, name="forgot")])) == ["forgot"]


# --- real objects for every kwarg ------------------------------------------------------------

ADMIN_MODELS = {"accounts_user": User, "accounts_usergroup": UserGroup, "accounts_policy": Policy,
                "accounts_grant": Grant, "accounts_auditevent": AuditEvent, "accounts_region": Region,
                "accounts_project": Project, "images_image": Image, "images_imageexport": ImageExport,
                "auth_user": User, "federation_identityprovider": IdentityProvider,
                "federation_federatedidentity": FederatedIdentity}


def _values(route: Route, persona: str) -> list[dict]:
    """The kwargs to fill a route with (several sets when a kwarg takes several real values)."""
    image = demo_id(HOME[persona][1])
    newcomer = User.objects.get(username="newcomer").pk
    if route.is_admin:
        model = ADMIN_MODELS.get(re.sub(r"_(change|delete|history|password_change)$", "", route.pattern.name or ""))
        if route.pattern.name is None and "object_id" in route.route:
            model = next(m for key, m in ADMIN_MODELS.items() if f"/{key.replace('_', '/', 1)}/" in f"/{route.route}")
        obj = model.objects.order_by("pk").first() if model else None
        return [{"object_id": obj.pk if obj else 1, "id": newcomer,
                 "content_type_id": ContentType.objects.get_for_model(Image).pk, "url": "nowhere/",
                 "app_label": label} for label in (("accounts", "images") if "app_label" in route.route else ("",))]
    base = {
        "pk": image if route.route.startswith("images/") else {
            "iam/users/": newcomer,
            "iam/groups/": UserGroup.objects.get(name="viewers").pk,
            "iam/policies/": Policy.objects.get(name="DenyImageDeletion").pk,
            "iam/access-requests/": _pending_access_request(),
        }.get(next((p for p in ("iam/users/", "iam/groups/", "iam/policies/", "iam/access-requests/")
                    if route.route.startswith(p)), ""), 0),
        "group_pk": UserGroup.objects.get(name="viewers").pk,
        "user_pk": User.objects.get(username="viewer").pk,
        "export_pk": "00000000-0000-4000-8000-000000000e0f",  # no such export: 404 once the engine allows
        "number": 1,  # a policy's first recorded revision (its JSON download)
        **route.pattern.default_args,
    }
    if "<slug:operation>" in route.route:
        return [{**base, "operation": op.name} for op in BULK_OPERATIONS]
    return [base]


def _pending_access_request() -> int:
    """viewer's pending request for ims:images:delete in cn-north-4 (made once per test): admin may decide it,
    iam-admin may not (it holds no image permission: refused by the no-escalation rule, audited)."""
    from datetime import timedelta

    from accounts.models import AccessRequest
    from accounts.services import access_requests

    found = AccessRequest.objects.filter(status="pending").values_list("pk", flat=True).first()
    if found is None:
        found = access_requests.ask(actor=User.objects.get(username="viewer"), action="ims:images:delete",
                                    project=Project.objects.get(name="cn-north-4"), duration=timedelta(hours=1),
                                    justification="the route crawler's request").pk
    return found


def url_for(route: Route, kwargs: dict, persona: str) -> str:
    """The route text with its converters and regex groups replaced by the values."""
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(kwargs[m.group(1)]), route.route)
    text = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(kwargs[m.group(1)]), text).replace("^", "").replace("$", "")
    url = "/" + text
    if url.startswith("/images/"):
        url += f"?project={HOME[persona][0]}"
    return url


def _data(url: str, persona: str) -> dict:
    return {"ids": [str(demo_id(HOME[persona][1]))]} if "/images/bulk/" in url else {}


# --- what the engine says the answer must be --------------------------------------------------


def expectation(route: Route, kwargs: dict, persona: str, user) -> tuple[str, tuple[str, ...]]:
    """("login" | "public" | "refused" | "allowed" | "hidden" | "staff" | "admin-login" | "operators-only",
    actions)."""
    if route.is_admin:
        if route.pattern.name in ("login", "logout"):
            return "public", ()
        if user is None:
            return "admin-login", ()
        if not user.is_staff:
            return "operators-only", ()
        return "staff", ()
    declaration = declaration_of(route.pattern.callback)
    if user is None:
        return ("login" if declaration.sign_in else "public"), ()
    actions = declaration.actions_for(kwargs)
    if not actions:
        return "allowed", ()
    project = image = None
    if declaration.in_view:
        project = Project.objects.get(name=HOME[persona][0])
        if "pk" in kwargs and route.route.startswith("images/<uuid:pk>"):
            image = Image.objects.select_related("project").prefetch_related("tags").get(pk=kwargs["pk"])
            reachable = authz.authorization_for(user).project_names_with_any_permission
            if reachable is not None and image.project.name not in reachable:
                return "hidden", actions
    verdicts = [authz.decide(user, action, project=project, image=image).allowed for action in actions]
    allowed = any(verdicts) if declaration.any_of else all(verdicts)
    return ("allowed" if allowed else "refused"), actions


ADMIN_VERBS = {"changelist": "view", "add": "add", "delete": "delete", "history": "view"}


def admin_permission(route: Route, method: str) -> str | None:
    """The Django model permission an admin route asks for (the engine answers it), None when none."""
    name = route.pattern.name or ""
    if name == "auth_user_password_change":
        return "accounts.change_user"
    match = re.fullmatch(r"(accounts|images)_(\w+?)_(changelist|add|change|delete|history)", name)
    if match is None:
        return None
    app, model, view = match.groups()
    verb = ("change" if method == "POST" else "view") if view == "change" else ADMIN_VERBS[view]
    return f"{app}.{verb}_{model}"


def _send(client: Client, method: str, url: str, data: dict):
    if method == "GET":
        return client.get(url)
    if method == "HEAD":
        return client.head(url)
    if method == "POST":
        return client.post(url, data)
    return getattr(client, method.lower())(url, data="", content_type="application/x-www-form-urlencoded")


def judge(kind: str, response, refusals, service_refusals) -> tuple[bool, str]:
    """Whether the answer is right for the expectation, and the kind of answer for the counts."""
    status = response.status_code
    location = response.get("Location", "")
    if status >= 500:
        return False, "500"
    if kind == "login":
        return status == 302 and location.startswith("/accounts/login/"), "login"
    if kind == "admin-login":
        return status == 302 and "/admin/login/" in location, "admin login"
    if kind == "operators-only":
        said = b"Django admin is for operators" in response.content or not response.content  # HEAD: no body
        return status == 403 and said, "admin 403 (not staff)"
    if kind in ("public", "staff"):
        return status != 403 or kind == "staff", f"{kind} {status}"
    if kind == "hidden":
        return status in (404, 405), f"hidden {status}"
    if kind == "refused":
        if status == 405:
            return not refusals, "refused 405 (method first)"
        return status == 403 and bool(refusals), "refused 403 audited"
    if status == 403:
        return bool(service_refusals), "allowed, 403 by a service rule (audited)"
    return True, f"allowed {status}"


@pytest.fixture(scope="module", autouse=True)
def crawl_summary():
    """After the crawl: the totals over every persona, for the closing note (shown with -s)."""
    yield
    by_answer = Counter()
    for (_, answer), count in CASES.items():
        by_answer[answer] += count
    print(f"\nroute crawler total: {sum(CASES.values())} requests in {len({p for p, _ in CASES})} crawls; "
          + ", ".join(f"{answer}: {count}" for answer, count in sorted(by_answer.items())))


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Exports and uploads that succeed land in a temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


def crawled_routes(persona: str, user) -> list[Route]:
    """Every route, but Django admin's only for anonymous, staff and the one non-staff witness."""
    admin_too = user is None or user.is_staff or persona == NON_STAFF_ADMIN_WITNESS
    return [route for route in routes() if admin_too or not route.is_admin]


def test_the_non_staff_witness_is_a_signed_in_persona_without_staff():
    assert not User.objects.get(username=NON_STAFF_ADMIN_WITNESS).is_staff
    viewer = User.objects.get(username="viewer")
    admin_routes = [route for route in routes() if route.is_admin]
    assert admin_routes and len(crawled_routes("viewer", viewer)) == len(routes()) - len(admin_routes)


@pytest.mark.sweep
@pytest.mark.parametrize("persona", [ANONYMOUS, *PERSONA_NAMES])
def test_every_route_answers_as_the_engine_decides(persona):
    user = None if persona == ANONYMOUS else User.objects.get(username=persona)
    client = Client(enforce_csrf_checks=False)
    if user is not None:
        client.force_login(user)
    wrong, answers = [], Counter()
    for route in crawled_routes(persona, user):
        for kwargs, method in product(_values(route, persona if user else "viewer"), METHODS):
            url = url_for(route, kwargs, persona if user else "viewer")
            kind, actions = expectation(route, kwargs, persona, user)
            started = timezone.now()
            with transaction.atomic():
                try:
                    response = _send(client, method, url, _data(url, persona if user else "viewer"))
                except Exception as error:  # a crash is the answer we report
                    response = HttpResponse(repr(error), status=500)
                recent = AuditEvent.objects.filter(Q(created_at__gte=started) | Q(last_seen_at__gte=started),
                                                   outcome="denied", actor=user)
                refusals = recent.filter(action__in=actions).exists() if user else False
                service_refusals = recent.exclude(details__has_key="method").exists() if user else False
                transaction.set_rollback(True)
            ok, answer = judge(kind, response, refusals, service_refusals)
            answers[answer] += 1
            if not ok:
                wrong.append(f"{method} {url} [{route.name}] as {persona}: expected {kind} {actions}, "
                             f"got {response.status_code} {response.get('Location', '')}")
            client.cookies.pop("messages", None)
            if user is not None and "logout" in route.route:
                client.force_login(user)
    total = sum(answers.values())
    CASES.update({(persona, answer): count for answer, count in answers.items()})
    crawled = len(crawled_routes(persona, user))
    print(f"\nroute crawler, {persona}: {total} requests ({crawled} routes × {len(METHODS)} methods), "
          + ", ".join(f"{answer}: {count}" for answer, count in sorted(answers.items())))
    assert wrong == [], f"{len(wrong)} wrong answers of {total}:\n" + "\n".join(wrong[:40])


STAFF_PERSONAS = ("iam-admin", "viewer", "developer", "newcomer")


@pytest.mark.sweep
@pytest.mark.parametrize("persona", STAFF_PERSONAS)
def test_admin_routes_obey_the_engine_for_staff(persona):
    """Made staff, a persona still gets from Django admin no more than the engine allows it.

    The admin may refuse more than the engine (read-only models, state rules): an allowed
    permission may answer anything but a 500; a refused one answers 403.
    """
    user = User.objects.get(username=persona)
    User.objects.filter(pk=user.pk).update(is_staff=True)
    user.refresh_from_db()
    client = Client(enforce_csrf_checks=False)
    client.force_login(user)
    wrong, answers = [], Counter()
    for route in (r for r in routes() if r.is_admin):
        for kwargs, method in product(_values(route, persona), METHODS):
            url = url_for(route, kwargs, persona)
            perm = admin_permission(route, method)
            allowed = perm is None or user.has_perm(perm)
            with transaction.atomic():
                try:
                    response = _send(client, method, url, {})
                except Exception as error:  # a crash is the answer we report
                    response = HttpResponse(repr(error), status=500)
                transaction.set_rollback(True)
            status = response.status_code
            ok = status < 500 and (allowed or status in (403, 405))
            answers[f"{'allowed' if allowed else 'refused'} {status}"] += 1
            if not ok:
                wrong.append(f"{method} {url} as staff {persona}: {perm} {'allowed' if allowed else 'refused'} "
                             f"by the engine, got {status}")
            client.cookies.pop("messages", None)
            if "logout" in route.route:
                client.force_login(user)
    CASES.update({(f"staff {persona}", f"admin {answer}"): count for answer, count in answers.items()})
    print(f"\nadmin crawler, staff {persona}: {sum(answers.values())} requests, "
          + ", ".join(f"{answer}: {count}" for answer, count in sorted(answers.items())))
    assert wrong == [], f"{len(wrong)} wrong answers:\n" + "\n".join(wrong[:40])
