"""The top bar's search: an image, user, group or policy by name or id, showing only what the person may
open, each result decided by the engine exactly as its page decides it.

Users, groups and policies are opened with one global action each (iam:users:getUser,
iam:groups:getGroup, iam:roles:getRole): without it, that kind is not even looked up. An image is opened
from the project its page would choose (images.selectors.opening_project) with ims:images:get on it
there; candidates are first narrowed in SQL to the images some project of the person sees, then each is
decided in memory. A fixed number of queries whatever the matches: one per kind, plus the images'
relations.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import render

from accounts import authz
from accounts.models import Policy, User, UserGroup
from accounts.permissions import login_only
from accounts.selectors import SEARCH_MAX_LENGTH, all_projects

PREVIEW_LIMIT = 5  # each kind in the top bar's dropdown
PAGE_LIMIT = 20  # each kind on the results page
IMAGE_CANDIDATES = 4  # images looked at per result shown (those the person may not open are skipped)


@dataclass(frozen=True)
class Hit:
    kind: str  # "image", "user", "group", "policy"
    name: str
    detail: str
    url: str


@dataclass(frozen=True)
class Section:
    kind: str
    title: str
    hits: list[Hit]
    more: bool  # more matches than shown


def _as_id(text: str, kind):
    try:
        return kind(text)
    except (ValueError, TypeError):
        return None


def _named(model, text: str, name_field: str):
    """Rows whose name contains `text`, or whose id is `text`; exact names and ids first."""
    match = Q(**{f"{name_field}__icontains": text})
    number = _as_id(text, int)
    if number is not None and 0 < number < 2**63:
        match |= Q(pk=number)
    return model.objects.filter(match).order_by(name_field, "pk")


def _section(kind, title, rows, limit, hit) -> Section:
    rows = list(rows[: limit + 1])
    return Section(kind, title, [hit(row) for row in rows[:limit]], len(rows) > limit)


def _users(authorization, text, limit) -> Section | None:
    if not authorization.allows("iam:users:getUser"):
        return None
    return _section("user", "Users", _named(User, text, "username"), limit,
                    lambda u: Hit("user", u.username, u.get_full_name() or u.email, u.get_absolute_url()))


def _groups(authorization, text, limit) -> Section | None:
    if not authorization.allows("iam:groups:getGroup"):
        return None
    return _section("group", "User groups", _named(UserGroup, text, "name"), limit,
                    lambda g: Hit("group", g.name, g.description, g.get_absolute_url()))


def _policies(authorization, text, limit) -> Section | None:
    if not authorization.allows("iam:roles:getRole"):
        return None
    return _section("policy", "Policies", _named(Policy, text, "name"), limit,
                    lambda p: Hit("policy", p.name, p.kind_label, p.get_absolute_url()))


def _images(request, authorization, text, limit) -> Section | None:
    from images import selectors
    from images.models import Image

    projects = all_projects(request)
    reachable = authorization.project_names_with_any_permission
    if reachable is not None and not reachable:
        return None
    seen = [project for project in projects if reachable is None or project.name in reachable]
    image_id = _as_id(text, uuid.UUID)
    matching = Image.objects.filter(pk=image_id) if image_id else selectors.name_search(Image.objects.all(), text)
    if reachable is not None:
        matching = matching.filter(Q(project__in=seen) | Q(image_type__in=selectors.PUBLIC_TYPES)
                                   | Q(members__project__in=seen))
    candidates = selectors.with_relations(matching.distinct().order_by("name", "pk"))[: (limit + 1) * IMAGE_CANDIDATES]
    current = selectors.current_project(request, authorization)
    opened = []
    for image in candidates:
        project = selectors.opening_project(authorization, image, current)
        if project is not None and authorization.allows("ims:images:get", project, image):
            opened.append(Hit("image", image.name, f"{image.project.name} · {image.get_status_display()}",
                              image.get_absolute_url()))
    return Section("image", "Images", opened[:limit], len(opened) > limit)


def search(request, text: str, limit: int) -> list[Section]:
    """The sections (images, users, groups, policies) the person may open, each up to `limit` hits."""
    authorization = authz.authorization_for(request.user)
    sections = [_images(request, authorization, text, limit), _users(authorization, text, limit),
                _groups(authorization, text, limit), _policies(authorization, text, limit)]
    return [section for section in sections if section is not None]


@login_only
def search_page(request):
    """The results page (`?q=`), or its dropdown fragment for the top bar's box (htmx)."""
    text = request.GET.get("q", "").strip()[:SEARCH_MAX_LENGTH]
    preview = bool(request.htmx) and request.GET.get("preview") == "1"
    if preview and not text:
        return HttpResponse("")  # the box was cleared: the dropdown closes
    sections = search(request, text, PREVIEW_LIMIT if preview else PAGE_LIMIT) if text else []
    context = {"q": text, "sections": sections, "found": any(section.hits for section in sections)}
    if preview:
        return render(request, "search/results.html#dropdown", context)
    return render(request, "search/results.html", context)
