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
