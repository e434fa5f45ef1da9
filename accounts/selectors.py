"""Reads shared by pages: memoised per request so a page asks the database once."""

from .models import Project
from .process_cache import ProcessCache

# Every project with its region, per process, by authorization stamp: creating, renaming or deleting a
# project or region bumps the stamp (accounts.signals), so the very next request of every process reloads.
_PROJECTS: ProcessCache[tuple[Project, ...]] = ProcessCache("projects", 2)


def _request_stamp(request) -> str:
    """The authorization stamp this request already read (for its user's permissions), else ""."""
    from . import authz

    authorization = authz.authorization_for(getattr(request, "user", None)) if request is not None else None
    return authorization.grants.stamp if authorization is not None else ""


def all_projects(request=None) -> list[Project]:
    """Every project with its region, ordered by region and name (no query once a process has read them
    at the current stamp). Callers only read these shared rows; services lock and load their own."""
    if request is not None:
        cached = getattr(request, "_imsperm_projects", None)
        if cached is not None:
            return cached
    stamp = _request_stamp(request)

    def read():
        return tuple(Project.objects.select_related("region").order_by("region__code", "name"))

    projects = list(_PROJECTS.get_or_build(stamp, read) if stamp else read())
    if request is not None:
        request._imsperm_projects = projects
    return projects


# The project the user works in, remembered by the image browser; other pages start from it.
SESSION_PROJECT_KEY = "images_project"

SEARCH_MAX_LENGTH = 128


def search_text(request) -> str:
    """A search box's `q`, trimmed and cut to 128 characters, as the image browser's: longer text
    names nothing here, and SQLite refuses a LIKE pattern over 50,000 characters."""
    return request.GET.get("q", "").strip()[:SEARCH_MAX_LENGTH]
