"""The decision API: `POST /api/v1/authorize` answers "may this user do this?" for other services.

Built on django-ninja: pydantic schemas validate the body and describe it in the OpenAPI document
the console serves at /api/v1/openapi.json. Each answer is `accounts.decisions.decision_json`, the
very JSON `manage.py iam_simulate --user` prints, from the one engine (accounts.authz).
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from django.core.exceptions import ValidationError as DjangoValidationError
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import ConfigDict

from accounts import audit, authz, decisions
from accounts.models import AuditEvent, Project, User
from accounts.policy import ACTION_NAMES
from images.models import Image
from images.selectors import visible_from, with_relations

from .auth import TokenAuth, TokenRateThrottle

MAX_REQUESTS = 100
SIMULATE_FOR_OTHERS = "iam:permissions:listPermissions"  # what the policy simulator page needs

ContextValue = str | int | float | bool | list[str | int | float | bool]

api = NinjaAPI(
    title="imsperm decision API",
    version="1",
    description=("Ask the console's policy engine for decisions. Authenticate with a bearer token "
                 "created on your API tokens page (`Authorization: Bearer imsp_…`)."),
    urls_namespace="api",
    docs_url=None,  # the Swagger page loads scripts from a CDN, which the console's CSP forbids
    openapi_url="/openapi.json",
    auth=TokenAuth(),
    throttle=TokenRateThrottle(),
)


class DecisionRequest(Schema):
    """One question: may the user do `action` in `project` (or on `image`), with extra condition keys?"""

    model_config = ConfigDict(extra="forbid")

    action: str = Field(..., description="A catalogue action, e.g. ims:images:delete", examples=["ims:images:get"])
    project: str | None = Field(None, description="The project the request is made in (default: the image's)")
    image: UUID | None = Field(None, description="The image the request is about: its keys join the context")
    context: dict[str, ContextValue] = Field(
        default_factory=dict, description='Extra condition keys, e.g. {"g:MFAPresent": true, "g:SourceIp": "10.0.0.1"}')


class AuthorizeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(None, description=f"Whose decisions; default the token's user (another user needs "
                                               f"{SIMULATE_FOR_OTHERS})")
    requests: list[DecisionRequest] = Field(..., min_length=1, max_length=MAX_REQUESTS)


class Matched(Schema):
    group: str
    grant: int | None
    policy: str
    statement: int | None
    effect: Literal["Allow", "Deny"]
    scope: str


class DecisionOut(Schema):
    action: str
    project: str | None
    image: str | None
    decision: Literal["allow", "explicit_deny", "implicit_deny"]
    explanation: str
    matched: list[Matched] = Field(..., description="The deciding statements: the Denies, else the Allows")
    missing_keys: list[str] = Field(..., description="Condition keys the statements read that the request lacked")


class AuthorizeOut(Schema):
    user: str
    results: list[DecisionOut]


class FieldError(Schema):
    pointer: str = Field(..., description="JSON Pointer (RFC 6901) into the request body",
                         examples=["/requests/0/action"])
    message: str


class ErrorOut(Schema):
    detail: str
    errors: list[FieldError] = []


class BadRequest(Exception):
    def __init__(self, errors: list[dict]):
        self.errors = errors


def _pointer(location) -> str:
    parts = [str(part) for part in location]
    if parts[:1] == ["body"]:
        parts = parts[1:]
    if parts[:1] == ["payload"]:
        parts = parts[1:]
    return "/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts) if parts else ""


@api.exception_handler(NinjaValidationError)
def _invalid_body(request, exc):
    errors = []
    for error in exc.errors:
        if error.get("type") == "json_invalid" or "JSON" in str(error.get("msg", "")):
            errors.append({"pointer": "", "message": f"The body is not JSON: {error.get('msg', '')}"})
        else:
            errors.append({"pointer": _pointer(error.get("loc", ())), "message": str(error.get("msg", ""))})
    return api.create_response(request, {"detail": "The request body is not valid.", "errors": errors}, status=400)


@api.exception_handler(BadRequest)
def _bad_request(request, exc):
    return api.create_response(request, {"detail": "The request body is not valid.", "errors": exc.errors},
                               status=400)


@api.exception_handler(AuthenticationError)
def _no_token(request, exc):
    response = api.create_response(
        request, {"detail": "Send a bearer token: Authorization: Bearer <token from your API tokens page>."},
        status=401)
    response["WWW-Authenticate"] = 'Bearer realm="imsperm"'
    return response


@api.exception_handler(HttpError)
def _http_error(request, exc):
    body = {"detail": exc.message}
    if exc.status_code == 400:  # django-ninja could not parse the body as JSON
        body = {"detail": "The request body is not valid.", "errors": [
            {"pointer": "", "message": "The body is not JSON: send an object with a requests list."}]}
    response = api.create_response(request, body, status=exc.status_code)
    if exc.status_code == 401:
        response["WWW-Authenticate"] = 'Bearer realm="imsperm", error="invalid_token"'
    return response


def _subject(request, payload: AuthorizeIn) -> User:
    """The user asked about: the token's own, or another one if the token's user may simulate for others."""
    caller = request.auth.user
    if payload.user is None or payload.user == caller.get_username():
        return caller
    explanation = authz.decide(caller, SIMULATE_FOR_OTHERS)
    if not explanation.allowed:
        audit.record(actor=caller, action=SIMULATE_FOR_OTHERS, target_type="page", target_repr=request.path,
                     outcome=AuditEvent.Outcome.DENIED, message=explanation.summary,
                     details={"method": request.method, "token": request.auth.prefix})
        raise HttpError(403, f"Asking about another user needs {SIMULATE_FOR_OTHERS}. {explanation.summary}")
    subject = User.objects.filter(username=payload.user).first()
    if subject is None:
        raise BadRequest([{"pointer": "/user", "message": f"No user named {payload.user!r}."}])
    return subject


def _openable_by(caller, image: Image, project: Project | None) -> bool:
    """Whether the token's own user may open `image` (`ims:images:get`) from a project that sees it: an
    image the caller cannot open is answered like an unknown id, so a token tells nothing about it
    (not that it exists, nor its tags and type through the conditions they decide)."""
    authorization = authz.authorization_for(caller)
    candidates = [image.project, *([project] if project is not None else []),
                  *(member.project for member in image.members.all())]
    return any(visible_from(image, seen_from) and authorization.allows("ims:images:get", seen_from, image)
               for seen_from in candidates)


def _resolve(payload: AuthorizeIn, caller) -> list[tuple[str, Project | None, Image | None, dict]]:
    """Each request's action, project and image as objects (three to four queries for the batch)."""
    names = {r.project for r in payload.requests if r.project}
    projects = {p.name: p for p in Project.objects.select_related("region").filter(name__in=names)}
    ids = {r.image for r in payload.requests if r.image}
    images = {i.pk: i for i in with_relations(Image.objects.filter(pk__in=ids))} if ids else {}
    errors, resolved = [], []
    for number, item in enumerate(payload.requests):
        if item.action not in ACTION_NAMES:
            errors.append({"pointer": f"/requests/{number}/action", "message": f"Unknown action {item.action!r}."})
        if item.project and item.project not in projects:
            errors.append({"pointer": f"/requests/{number}/project", "message": f"No project named {item.project!r}."})
        image = images.get(item.image) if item.image else None
        if item.image and (image is None or not _openable_by(caller, image, projects.get(item.project))):
            errors.append({"pointer": f"/requests/{number}/image",
                           "message": f"No image with id {item.image} that you can open."})
        resolved.append((item.action, projects.get(item.project), images.get(item.image), item.context))
    if errors:
        raise BadRequest(errors)
    return resolved


@api.post("/authorize", response={200: AuthorizeOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 429: ErrorOut},
          summary="Decide up to 100 requests for a user")
def authorize(request, payload: AuthorizeIn):
    """The decision, deciding statements and missing condition keys of each request, in order: the
    same JSON as `manage.py iam_simulate --user`. No HTTP request keys are assumed for the user asked
    about (g:SourceIp, g:MFAPresent): give them in `context`."""
    subject = _subject(request, payload)
    resolved = _resolve(payload, request.auth.user)
    try:
        authorization = decisions.authorization_without_request(subject)
        results = [decisions.decision_json(authorization, action, project=project, image=image, context=context)
                   for action, project, image, context in resolved]
    except (DjangoValidationError, ValueError, TypeError) as error:  # a context value a condition cannot read
        raise BadRequest([{"pointer": "/requests", "message": f"A context value cannot be used: {error}"}]) from None
    # Already the documented shape (the tests compare it with iam_simulate): sent as it is, since
    # django-ninja's response validation of 100 nested results would cost more than the decisions.
    return api.create_response(request, {"user": subject.get_username(), "results": results}, status=200)
