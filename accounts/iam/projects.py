"""IAM projects: the regions and their projects, and creating a subproject (≤ 10 per region).

Governed by the `iam:projects:*` actions (SPEC 3.2); the writes are accounts/services/projects.py.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.shortcuts import render
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST

from accounts import services
from accounts.models import MAX_SUBPROJECTS_PER_REGION, Project, Region
from accounts.permissions import permission_required_action

from .form_views import save_form


class SubprojectForm(forms.Form):
    """A subproject is named `<region code>_<suffix>`: the form asks for the suffix only."""

    region = forms.ModelChoiceField(queryset=Region.objects.all(), widget=forms.HiddenInput)
    suffix = forms.RegexField(regex=r"^[A-Za-z0-9-]+$", max_length=30, label=gettext_lazy("Name"),
                              error_messages={"invalid": gettext_lazy("Use letters, digits and hyphens only.")})
    description = forms.CharField(max_length=255, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["suffix"].widget.attrs.update({"autocomplete": "off", "placeholder": "e.g. test"})


def _auto_id(region_pk) -> str:
    """Field ids unique on the page: one form per region."""
    return f"id_region{region_pk}_%s"


def _page(request, *, bound=None, status=200):
    """Every region with its projects, default project first (two queries)."""
    regions = Region.objects.order_by("code").prefetch_related(
        Prefetch("projects", queryset=Project.objects.order_by("name")))
    rows = []
    for region in regions:
        projects = sorted(region.projects.all(), key=lambda p: (p.name != region.code, p.name))
        subprojects = len(projects) - any(p.name == region.code for p in projects)
        posted_here = bound is not None and bound.data.get("region") == str(region.pk)
        form = bound if posted_here else SubprojectForm(initial={"region": region.pk}, auto_id=_auto_id(region.pk))
        rows.append({"region": region, "projects": projects, "subprojects": subprojects,
                     "full": subprojects >= MAX_SUBPROJECTS_PER_REGION, "form": form})
    context = {"rows": rows, "limit": MAX_SUBPROJECTS_PER_REGION,
               "can_create": request.authorization.allows("iam:projects:createProject")}
    return render(request, "iam/projects/list.html", context, status=status)


@permission_required_action("iam:projects:listProjects")
def project_list(request):
    """Regions and their projects; a form per region to create a subproject."""
    return _page(request)


@permission_required_action("iam:projects:createProject")
@require_POST
def project_create(request):
    """Create `<region>_<name>`; a refusal (bad name, taken, the region full) is shown on its form (422)."""
    form = SubprojectForm(request.POST, auto_id=_auto_id(request.POST.get("region", "")))

    def save(data):
        region = data["region"]
        try:
            project = services.project_create(actor=request.user, region=region, name=f"{region.code}_{data['suffix']}",
                                              description=data["description"])
        except ValidationError as error:
            raise _on_suffix(error) from None
        return (gettext("Project %(project)s created in %(region)s. Grant it to groups from a group's Permissions "
                        "tab.") % {"project": project.name, "region": region.name}, "iam:project-list")

    response = save_form(request, form, save)
    if response is not None:
        return response
    if "region" in form.errors:
        messages.error(request, gettext("Choose one of the regions below to create the project in."))
    return _page(request, bound=form, status=422)


def _on_suffix(error: ValidationError) -> ValidationError:
    """The service names the project's `name`; the form's field for it is `suffix`."""
    if hasattr(error, "error_dict") and "name" in error.error_dict:
        return ValidationError({"suffix" if key == "name" else key: value for key, value in error.error_dict.items()})
    return error
