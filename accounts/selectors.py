"""Reads shared by pages: memoised per request so a page asks the database once."""

from .models import Project


def all_projects(request=None) -> list[Project]:
    """Every project with its region, ordered by name (once per request)."""
    if request is not None:
        cached = getattr(request, "_imsperm_projects", None)
        if cached is not None:
            return cached
    projects = list(Project.objects.select_related("region").order_by("region__code", "name"))
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
