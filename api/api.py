"""The decision API: `POST /api/v1/authorize` answers "may this user do this?" for other services.

Built on django-ninja: pydantic schemas validate the body and describe it in the OpenAPI document
the console serves at /api/v1/openapi.json. Each answer is `accounts.decisions.decision_json`, the
very JSON `manage.py iam_simulate --user` prints, from the one engine (accounts.authz).
"""

from __future__ import annotations

import math
from typing import Annotated, Literal
from uuid import UUID

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from pydantic import ConfigDict

from accounts import authz, decisions, who_can
from accounts.enforcement import record_refusal
from accounts.models import Project, User
from accounts.policy import ACTION_NAMES, SERVICES, get_action, locate
from images.models import Image
from images.selectors import attach_relations, visible_from

from .auth import TokenAuth, UserRateThrottle

MAX_REQUESTS = 100
# Deciding for another user names what they hold: what every page naming holders needs (who_can.may_see_names).
SIMULATE_FOR_OTHERS = who_can.NAMES_ACTIONS
MAX_MESSAGE = 300  # no error repeats more of the caller's input than this

# Bounds a caller cannot miss, so that no answer echoes megabytes: names are at most a column's
# length, and a context value at most what the simulator takes (accounts.iam.policy_forms).
Name = Annotated[str, Field(max_length=150)]
ContextText = Annotated[str, Field(max_length=256)]
ContextItem = ContextText | int | float | bool
ContextValue = ContextItem | Annotated[list[ContextItem], Field(max_length=50)]


class StrictJSON(Parser):
    """Bodies read by the console's one JSON check (accounts.policy.locate): text no database can store
    (NUL, a lone surrogate, in a key or a value at any depth), NaN, numbers too large or too long, and
    nesting deeper than 200 are refused before validation, each at its place."""

    def parse_body(self, request):
        return locate.loads(request.body)


api = NinjaAPI(
    title="imsperm decision API",
    version="1",
    description=("Ask the console's policy engine for decisions. Authenticate with a bearer token "
                 "created on your API tokens page (`Authorization: Bearer imsp_…`)."),
    urls_namespace="api",
    docs_url=None,  # the Swagger page loads scripts from a CDN, which the console's CSP forbids
    openapi_url="/openapi.json",
    auth=TokenAuth(),
    throttle=UserRateThrottle(),
    parser=StrictJSON(),
)


class DecisionRequest(Schema):
    """One question: may the user do `action` in `project` (or on `image`), with extra condition keys?"""

    model_config = ConfigDict(extra="forbid")

    action: Name = Field(..., description="A catalogue action, e.g. ims:images:delete", examples=["ims:images:get"])
    project: Name | None = Field(None, description="The project the request is made in (default: the image's); "
                                                   "an IMS action needs a project or an image")
    image: UUID | None = Field(None, description="The image the request is about: its keys join the context")
    context: Annotated[dict[Name, ContextValue], Field(max_length=50)] = Field(
        default_factory=dict, description='Extra condition keys, e.g. {"g:MFAPresent": true, "g:SourceIp": "10.0.0.1"}')


class AuthorizeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    user: Name | None = Field(None, description=f"Whose decisions; default the token's user (another user needs "
                                               f"{' and '.join(SIMULATE_FOR_OTHERS)})")
    requests: list[DecisionRequest] = Field(..., min_length=1, max_length=MAX_REQUESTS)


class Matched(Schema):
    group: str
    grant: int | None
    policy: str
    statement: int | None = Field(..., description="The statement's number in its policy, counted from 1 "
                                                     "as in the explanation (\"Statement 1\")")
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
    parts = list(location)
    if parts[:1] == ["body"]:
        parts = parts[1:]
    if parts[:1] == ["payload"]:
        parts = parts[1:]
    return locate.json_pointer(tuple(part if isinstance(part, int) else str(part) for part in parts))


def _message(text) -> str:
    text = str(text)
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "…"


@api.exception_handler(NinjaValidationError)
def _invalid_body(request, exc):
    errors = []
    for error in exc.errors:
        if error.get("type") == "json_invalid" or "JSON" in str(error.get("msg", "")):
            errors.append({"pointer": "", "message": _message(f"The body is not JSON: {error.get('msg', '')}")})
        else:
            errors.append({"pointer": _pointer(error.get("loc", ())), "message": _message(error.get("msg", ""))})
    return api.create_response(request, {"detail": "The request body is not valid.", "errors": errors}, status=400)


@api.exception_handler(RequestDataTooBig)
def _too_big(request, exc):
    return api.create_response(request, {"detail": "The request body is too large.", "errors": [
        {"pointer": "", "message": "The body is larger than the console reads: send at most 100 requests."}]},
        status=413)


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
    unusable = exc.__cause__ if isinstance(exc.__cause__, locate.UnusableJSON) else None
    if unusable is not None:  # StrictJSON refused the body: each problem at its place
        body = {"detail": "The request body is not valid.", "errors": [
            {"pointer": locate.json_pointer(path), "message": _message(message)}
            for path, message in unusable.problems]}
    elif exc.status_code == 400:  # django-ninja could not parse the body as JSON
        body = {"detail": "The request body is not valid.", "errors": [
            {"pointer": "", "message": "The body is not JSON: send an object with a requests list."}]}
    response = api.create_response(request, body, status=exc.status_code)
    if exc.status_code == 401:
        response["WWW-Authenticate"] = 'Bearer realm="imsperm", error="invalid_token"'
    if isinstance(exc, Throttled) and exc.wait is not None:
        response["Retry-After"] = str(max(1, math.ceil(exc.wait)))
    return response


def _subject(request, payload: AuthorizeIn) -> User:
    """The user asked about: the token's own, or another one if the token's user may simulate for others."""
    caller = request.auth.user
    if payload.user is None or payload.user == caller.get_username():
        return caller
    refused = [explanation for explanation in (authz.decide(caller, action) for action in SIMULATE_FOR_OTHERS)
               if not explanation.allowed]
    for explanation in refused:
        record_refusal(caller, explanation, target_type="page", target_repr=request.path,
                       details={"method": request.method, "token": request.auth.prefix})
    if refused:
        raise HttpError(403, f"Asking about another user needs {' and '.join(SIMULATE_FOR_OTHERS)}. "
                             + " ".join(explanation.english_summary for explanation in refused))
    subject = User.objects.filter(username=payload.user).first()
    if subject is None:
        raise BadRequest([{"pointer": "/user", "message": f"No user named {locate.shown(payload.user)!r}."}])
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


# Where an unknown id is decided: a project no grant names, so nothing allows opening it.
_NOWHERE = Project(pk=0, name="")


def _images(ids: list[UUID], projects: list[Project]) -> dict[UUID, Image]:
    """Each asked id as an image, a found one or an unsaved stand-in for an unknown id, loaded by the same
    three queries either way (the rows, their tags, their members: attach_relations runs them for the ids
    asked, found or not, with every project already at hand), so that an answer's work does not tell
    whether an image exists."""
    if not ids:
        return {}
    found = {image.pk: image for image in Image.objects.filter(pk__in=ids)}
    images = [found.get(pk) or Image(pk=pk, project_id=_NOWHERE.pk) for pk in ids]
    attach_relations(images, [*projects, _NOWHERE])
    for image in images:
        image.found = image.pk in found
    return {image.pk: image for image in images}


def _needs_project(action: str) -> bool:
    return action in ACTION_NAMES and not SERVICES[get_action(action).service].is_global


def _resolve(payload: AuthorizeIn, caller) -> list[tuple[str, Project | None, Image | None, dict]]:
    """Each request's action, project and image as objects (one to four queries for the batch, whatever
    it names: every project, then the images asked about, their tags and their members)."""
    every = list(Project.objects.select_related("region"))
    projects = {project.name: project for project in every}
    images = _images(sorted({r.image for r in payload.requests if r.image}), every)
    errors, resolved = [], []
    for number, item in enumerate(payload.requests):
        image = images.get(item.image) if item.image else None
        errors.extend(_request_errors(number, item, projects, image, caller))
        resolved.append((item.action, projects.get(item.project), image, item.context))
    if errors:
        raise BadRequest(errors)
    return resolved


def _request_errors(number: int, item, projects: dict[str, Project], image: Image | None, caller) -> list[dict]:
    """What is wrong with one request, each with its JSON pointer: an unknown action, a project-level
    action without a place, an unknown project, an image the caller cannot open."""
    errors = []
    if item.action not in ACTION_NAMES:
        errors.append({"pointer": f"/requests/{number}/action",
                       "message": f"Unknown action {locate.shown(item.action)!r}."})
    elif _needs_project(item.action) and not item.project and not item.image:
        errors.append({"pointer": f"/requests/{number}/project",
                       "message": f"{item.action} is a project-level action: give the project of the request "
                                  "(or an image, whose project is then used)."})
    if item.project and item.project not in projects:
        errors.append({"pointer": f"/requests/{number}/project",
                       "message": f"No project named {locate.shown(item.project)!r}."})
    # the same decision for every asked id: whether it exists is only looked at after it
    if image is not None and not (_openable_by(caller, image, projects.get(item.project)) and image.found):
        errors.append({"pointer": f"/requests/{number}/image",
                       "message": f"No image with id {item.image} that you can open."})
    return errors


@api.post("/authorize", response={200: AuthorizeOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 413: ErrorOut,
                                   429: ErrorOut},
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
