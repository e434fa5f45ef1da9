"""Region and project services: ≤ 10 subprojects per region (SPEC 2), renames renew decisions.

Grants are cached by project name, so every create or rename bumps the authorization stamp
inside the transaction; a region's code and its default project's name are fixed, because
every project name and grant scope of the region starts with that code.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

from accounts import audit
from accounts.enforcement import atomic_service, require
from accounts.models import MAX_SUBPROJECTS_PER_REGION, Project, Region

from ._common import claim_revision


def _check_subproject_name(region: Region, name: str, *, exclude_pk=None) -> None:
    if not name.startswith(f"{region.code}_") or name == f"{region.code}_":
        raise ValidationError({"name": ValidationError(
            gettext_lazy("A subproject of %(code)s is named %(code)s_<name>."), params={"code": region.code})})
    clash = Project.objects.filter(name__iexact=name).exclude(pk=exclude_pk).first()
    if clash is not None:
        raise ValidationError({"name": ValidationError(gettext_lazy("The project %(name)s already exists."),
                                                       params={"name": clash.name})})


@atomic_service
def region_create(*, actor, code: str, name: str) -> Region:
    """Create a region with its default project (named like the region)."""
    require(actor, "iam:projects:createProject", target_repr=code)
    if Region.objects.filter(code__iexact=code).exists():
        raise ValidationError({"code": ValidationError(gettext_lazy("The region %(code)s already exists."),
                                                       params={"code": code})})
    region = Region(code=code, name=name)
    region.full_clean()
    region.save()
    default = Project(name=code, region=region, description="default project")
    default.full_clean()
    default.save()
    audit.record(actor=actor, action="iam:projects:createProject", target=region,
                 details={"after": {"code": code, "name": name, "default_project": default.name}})
    return region


@atomic_service
def region_update(*, actor, region: Region, name: str, expected_revision: int | None = None) -> Region:
    """Change a region's display name (its code is fixed), refusing a form loaded before someone
    else's save (`expected_revision`; None when no form was loaded)."""
    require(actor, "iam:projects:updateProject", target=region)
    locked = Region.objects.select_for_update().get(pk=region.pk)
    claim_revision(locked, expected_revision)
    before = {"name": locked.name}
    locked.name = name
    locked.full_clean()
    locked.save()
    audit.record(actor=actor, action="iam:projects:updateProject", target=locked,
                 details=audit.changes(before, {"name": name}))
    return locked


@atomic_service
def project_create(*, actor, region: Region, name: str, description: str = "") -> Project:
    """Create a subproject `<region code>_<name>`; refused past 10 subprojects in the region."""
    require(actor, "iam:projects:createProject", target_repr=name)
    region = Region.objects.select_for_update().get(pk=region.pk)
    _check_subproject_name(region, name)
    subprojects = Project.objects.filter(region=region).exclude(name=region.code).count()
    if subprojects >= MAX_SUBPROJECTS_PER_REGION:
        raise ValidationError(gettext_lazy("%(code)s already has %(max_subprojects_per_region)s subprojects, the most "
                                           "a region can have."),
                              params={"code": region.code, "max_subprojects_per_region": MAX_SUBPROJECTS_PER_REGION})
    project = Project(name=name, region=region, description=description)
    project.full_clean()
    project.save()
    audit.record(actor=actor, action="iam:projects:createProject", target=project, project=project,
                 details={"after": {"name": name, "region": region.code, "description": description}})
    return project


@atomic_service
def project_update(*, actor, project: Project, name: str, description: str,
                   expected_revision: int | None = None) -> Project:
    """Rename or describe a project; the region's default project keeps its name. A form loaded
    before someone else's save is refused (`expected_revision`; None when no form was loaded)."""
    require(actor, "iam:projects:updateProject", target=project)
    locked = Project.objects.select_for_update().select_related("region").get(pk=project.pk)
    claim_revision(locked, expected_revision)
    if name != locked.name:
        if locked.is_default:
            raise ValidationError({"name": ValidationError(gettext_lazy("A region's default project is named like the "
                                                                        "region: it cannot be renamed."))})
        _check_subproject_name(locked.region, name, exclude_pk=locked.pk)
    before = {"name": locked.name, "description": locked.description}
    locked.name, locked.description = name, description
    locked.full_clean()
    locked.save()
    audit.record(actor=actor, action="iam:projects:updateProject", target=locked, project=locked,
                 details=audit.changes(before, {"name": name, "description": description}))
    return locked
