"""Image writes as named services: each asks the policy engine, checks the image's state with the same
rules that draw the buttons, runs in a transaction and writes its audit event.

`project` is the project the actor works from (the policy engine decides there); `actor=None` is
the system itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts import audit, wording
from accounts.enforcement import atomic_service, require
from accounts.models import AuditEvent, Project
from accounts.policy.messages import Message, gettext_noop
from accounts.services._common import CHANGED_MEANWHILE

from . import uploads
from .models import MAX_MEMBERS_PER_IMAGE, MAX_TAGS_PER_IMAGE, Image, ImageExport, ImageMember, ImageTag
from .operations import CREATE_ACTIONS, OPERATIONS_BY_NAME, cross_region_rule, membership_of, quota_reason
from .selectors import private_image_count

SNAPSHOT_FIELDS = (
    "name", "description", "image_type", "kind", "status", "os_type", "platform", "os_version", "os_bit",
    "architecture", "disk_format", "min_disk", "min_ram", "size", "protected", "encryption_key_id",
)
MODIFIABLE_FIELDS = ("name", "description", "os_version", "min_disk", "min_ram", "protected")


def snapshot(image: Image) -> dict:
    """The image's attributes as the audit log keeps them."""
    data = {field: getattr(image, field) for field in SNAPSHOT_FIELDS}
    data.update(id=str(image.pk), project=image.project.name, file=image.file.name or "",
                tags={tag.key: tag.value for tag in image.tags.all()})
    return data


def _check_state(operation_name: str, image: Image, project: Project) -> None:
    reason = OPERATIONS_BY_NAME[operation_name].why(image, project)
    if reason:
        raise ValidationError(wording.lazy(reason))


def _begin(actor, operation_name: str, image: Image, project: Project | None) -> Project:
    """Permission first (a refusal is audited), then the image's state."""
    project = project or image.project
    require(actor, OPERATIONS_BY_NAME[operation_name].action, project=project, image=image)
    _check_state(operation_name, image, project)
    return project


@atomic_service
def image_create(*, actor, project: Project, kind: str, **attributes) -> Image:
    """Register a private image record in `project`, queued for its file."""
    action = CREATE_ACTIONS[kind]
    require(actor, action, project=project, target_repr=attributes.get("name", ""))
    Project.objects.select_for_update().filter(pk=project.pk).first()
    reason = quota_reason(private_image_count(project))
    if reason:
        raise ValidationError(wording.lazy(reason))
    image = Image(project=project, kind=kind, image_type=Image.ImageType.PRIVATE, status=Image.Status.QUEUED,
                  **attributes)
    image.full_clean()
    image.save()
    audit.record(actor=actor, action=action, target=image, project=project, details={"after": snapshot(image)})
    return image


class ConcurrentImageEditError(ValidationError):
    """Someone changed the image after this form loaded it; `current` is the image as saved now."""

    def __init__(self, current: Image):
        self.current = current
        super().__init__(CHANGED_MEANWHILE, code="conflict",
                         params={"name": current.name, "revision": current.revision})


def _claim_revision(image: Image, expected_revision: int) -> None:
    """Move the image to its next revision, or refuse if it is no longer at `expected_revision`.

    One conditional UPDATE: of two saves that loaded the same revision exactly one wins, on any
    database, whatever the isolation level.
    """
    claimed = Image.objects.filter(pk=image.pk, revision=expected_revision).update(
        revision=F("revision") + 1, updated_at=timezone.now())
    if not claimed:
        raise ConcurrentImageEditError(Image.objects.select_related("project").get(pk=image.pk))
    image.revision = expected_revision + 1


def _next_revision(image: Image) -> None:
    """A write that no form loaded (upload) still moves the image on, so older forms turn stale."""
    Image.objects.filter(pk=image.pk).update(revision=F("revision") + 1)
    image.refresh_from_db(fields=["revision"])


@atomic_service
def image_update(*, actor, image: Image, project: Project | None = None, expected_revision: int,
                 **changes) -> Image:
    """Modify an image's attributes (name, description, OS version, minimums, protection),
    refusing if someone saved it after `expected_revision` was read."""
    project = _begin(actor, "modify", image, project)
    unknown = set(changes) - set(MODIFIABLE_FIELDS)
    if unknown:
        raise ValidationError(gettext_lazy("These attributes cannot be modified: %(names)s."),
                              params={"names": ', '.join(sorted(unknown))})
    _claim_revision(image, expected_revision)
    before = {field: getattr(image, field) for field in changes}
    for field, value in changes.items():
        setattr(image, field, value)
    image.full_clean()
    image.save(update_fields=[*changes, "revision", "updated_at"])
    audit.record(actor=actor, action="ims:images:update", target=image, project=project,
                 details=audit.changes(before, changes))
    return image


@atomic_service
def image_tags_set(*, actor, image: Image, project: Project | None = None, tags: dict[str, str],
                   expected_revision: int) -> Image:
    """Replace the image's tags (at most 10), refusing if someone saved it after `expected_revision`."""
    project = _begin(actor, "tags", image, project)
    if len(tags) > MAX_TAGS_PER_IMAGE:
        raise ValidationError({"tags": ValidationError(
            gettext_lazy("An image can have at most %(max_tags_per_image)s tags; you gave %(count)s."),
            params={"max_tags_per_image": MAX_TAGS_PER_IMAGE, "count": len(tags)})})
    _claim_revision(image, expected_revision)
    before = {tag.key: tag.value for tag in image.tags.all()}
    image.tags.all().delete()
    for key, value in tags.items():
        tag = ImageTag(image=image, key=key, value=value)
        tag.full_clean(exclude=["image"])
        tag.save()
    audit.record(actor=actor, action="ims:images:update", target=image, project=project,
                 details={"before": {"tags": before}, "after": {"tags": dict(tags)}})
    return image


@dataclass(frozen=True)
class UploadOutcome:
    """An upload either made the image active or killed it; `problem` says why it was killed (a Message, read in
    the person's language where it is shown)."""

    image: Image
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


@atomic_service
def image_upload(*, actor, image: Image, project: Project | None = None, uploaded, max_bytes: int) -> UploadOutcome:
    """Check a file by its content and stream it into a queued image.

    A file that is not a whole image of the declared format kills the image (the upload failed)
    and stores nothing; a file over the size limit is refused before anything changes.
    """
    project = _begin(actor, "upload", image, project)
    if uploaded.size > max_bytes:
        raise ValidationError({"file": ValidationError(
            gettext_lazy("The file is %(size)s bytes; uploads are limited to %(max_bytes)s."),
            params={"size": f"{uploaded.size:,}", "max_bytes": f"{max_bytes:,}"})})
    try:
        detected = uploads.detect_format(uploaded, uploaded.size, image.disk_format)
        uploads.check_matches(detected, image.disk_format)
    except uploads.FileRejected as rejected:
        image.status = Image.Status.KILLED
        image.save(update_fields=["status", "updated_at"])
        _next_revision(image)
        audit.record(actor=actor, action="ims:images:upload", target=image, project=project,
                     outcome=AuditEvent.Outcome.ERROR, message=rejected.message,
                     details={"file": uploaded.name, "size": uploaded.size, "after": {"status": "killed"}})
        return UploadOutcome(image, rejected.message)  # a Message: the audit above keeps its English
    # Written under a temporary name first; moved to the image's own name as the transaction's last
    # step, so the row commits "active" only with its whole file in place. A failure before the
    # commit removes the file; one at the commit (its outcome unknown) leaves it to uploads.tidy.
    staged = uploads.stage_image_file(image, uploaded, detected.container)
    try:
        image.file.name = staged.name
        image.size = uploaded.size
        image.status = Image.Status.ACTIVE
        image.save(update_fields=["file", "size", "status", "updated_at"])
        _next_revision(image)
        audit.record(actor=actor, action="ims:images:upload", target=image, project=project,
                     details={"file": uploaded.name, "stored": staged.name, "format": detected.container,
                              "after": {"status": "active", "size": uploaded.size}})
        uploads.move_into_place(staged)
    except BaseException:
        uploads.discard(staged.partial)
        raise
    return UploadOutcome(image)


@atomic_service
def image_delete(*, actor, image: Image, project: Project | None = None) -> None:
    """Delete the image for good; the audit event keeps a snapshot of it."""
    project = _begin(actor, "delete", image, project)
    details = {"before": snapshot(image), "members": [m.project.name for m in image.members.all()]}
    stored = [image.file.name, *ImageExport.objects.filter(image=image).values_list("file", flat=True)]
    audit.record(actor=actor, action="ims:images:delete", target=image, project=project, details=details)
    image.delete()
    for name in filter(None, stored):
        transaction.on_commit(lambda name=name: uploads.discard(name))


@atomic_service
def image_share_add(*, actor, image: Image, project: Project | None = None, members: list[Project]) -> list:
    """Share the image with more projects (pending until they accept)."""
    project = _begin(actor, "share", image, project)
    Image.objects.select_for_update().filter(pk=image.pk).first()
    existing = set(ImageMember.objects.filter(image=image).values_list("project_id", flat=True))
    problems = []
    for member in members:
        if member.pk == image.project_id:
            problems.append(ValidationError(gettext_lazy("%(project)s owns the image: it cannot be a member."),
                                            params={"project": member.name}))
        elif member.pk in existing:
            problems.append(ValidationError(gettext_lazy("The image is already shared with %(project)s."),
                                            params={"project": member.name}))
    if problems:
        raise ValidationError({"projects": problems})
    if len(existing) + len(members) > MAX_MEMBERS_PER_IMAGE:
        raise ValidationError({"projects": ValidationError(
            gettext_lazy("An image can be shared with at most %(max_members_per_image)s projects; it has %(count)s and "
                         "you added %(count2)s."),
            params={"max_members_per_image": MAX_MEMBERS_PER_IMAGE, "count": len(existing), "count2": len(members)})})
    created = [ImageMember.objects.create(image=image, project=member) for member in members]
    audit.record(actor=actor, action="ims:images:share", target=image, project=project,
                 details={"after": {"members_added": [m.name for m in members]}})
    return created


@atomic_service
def image_share_remove(*, actor, image: Image, project: Project | None = None, member: Project) -> None:
    """Stop sharing the image with one project."""
    project = _begin(actor, "unshare", image, project)
    removed, _ = ImageMember.objects.filter(image=image, project=member).delete()
    if not removed:
        raise ValidationError({"project": ValidationError(gettext_lazy("The image is not shared with %(name)s."),
                                                          params={"name": member.name})})
    audit.record(actor=actor, action="ims:images:share", target=image, project=project,
                 details={"before": {"member": member.name}, "after": {"member": None}})


def _answer_share(actor, operation_name: str, image: Image, project: Project, status: str) -> ImageMember:
    project = _begin(actor, operation_name, image, project)
    membership = membership_of(image, project)
    before = membership.status
    membership.status = status
    membership.save(update_fields=["status", "updated_at"])
    audit.record(actor=actor, action="ims:images:share", target=image, project=project,
                 details={"before": {"member": project.name, "status": before},
                          "after": {"member": project.name, "status": status}})
    return membership


@atomic_service
def image_share_accept(*, actor, image: Image, project: Project) -> ImageMember:
    """Accept, from the consumer `project`, an image shared with it."""
    return _answer_share(actor, "accept", image, project, ImageMember.Status.ACCEPTED)


@atomic_service
def image_share_reject(*, actor, image: Image, project: Project) -> ImageMember:
    """Decline, from the consumer `project`, an image shared with it."""
    return _answer_share(actor, "reject", image, project, ImageMember.Status.REJECTED)


@atomic_service
def image_export(*, actor, image: Image, project: Project | None = None) -> ImageExport:
    """Write the image's file (or its manifest, for a record without a file) to storage under exports/,
    recorded with its size and SHA-256 so the project's exporters can download and check it."""
    project = _begin(actor, "export", image, project)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
    name = f"{image.pk}-{stamp}.{image.disk_format}"
    manifest = json.dumps(snapshot(image), indent=2, default=str)
    path = uploads.store_export(image, name, manifest)
    try:
        size, sha256 = uploads.stored_checksum(path)
        suffix = path.rsplit("/", 1)[-1].removeprefix(f"{image.pk}-{stamp}")
        export = ImageExport.objects.create(
            image=image, project=project, file=path, name=f"{image.name}-{stamp[:15]}{suffix}", size=size,
            sha256=sha256, is_manifest=not image.file, actor_name=actor.get_username() if actor else "")
    except Exception:
        uploads.discard(path)
        raise
    audit.record(actor=actor, action="ims:images:export", target=image, project=project,
                 details={"path": path, "had_file": bool(image.file), "export": str(export.pk), "size": size,
                          "sha256": sha256})
    return export


@atomic_service
def export_for_download(*, actor, image: Image, project: Project, export_pk) -> ImageExport:
    """The export `export_pk` of `image` made from `project`, for `actor` to download: the engine decides
    ims:images:export on the image (a refusal is audited), and the download is audited. Http404 when
    this image has no such export from this project."""
    require(actor, OPERATIONS_BY_NAME["export"].action, project=project, image=image)
    export = ImageExport.objects.filter(pk=export_pk, image=image, project=project).first()
    if export is None:
        raise Http404("This image has no such export in this project.")
    audit.record(actor=actor, action="ims:images:export", target=image, project=project,
                 message=Message(gettext_noop("Downloaded the export %(name)s."), name=export.name),
                 details={"download": str(export.pk), "name": export.name, "size": export.size,
                          "sha256": export.sha256})
    return export


def recent_exports(image: Image, project: Project, limit: int = 20) -> list[ImageExport]:
    """The latest exports of `image` made from `project`, newest first."""
    return list(ImageExport.objects.filter(image=image, project=project)[:limit])


@atomic_service
def image_replicate(*, actor, image: Image, project: Project | None = None, target: Project) -> Image:
    """Copy an active private image into `target` (this region or another), as an active private image."""
    project = _begin(actor, "replicate", image, project)
    require(actor, "ims:images:copy", project=target, target=image)
    if target.region_id != image.project.region_id:
        reason = cross_region_rule(image)
        if reason:
            raise ValidationError({"target": ValidationError(wording.lazy(reason))})
    reason = quota_reason(private_image_count(target))
    if reason:  # said on the target's field: "The project" is the one chosen there
        raise ValidationError({"target": ValidationError(wording.lazy(reason))})
    copy = Image(**{field: getattr(image, field) for field in SNAPSHOT_FIELDS})
    copy.project = target
    copy.source = image
    copy.image_type = Image.ImageType.PRIVATE
    copy.status = Image.Status.ACTIVE
    copy.protected = False
    copy.full_clean()
    copy.save()
    for tag in image.tags.all():
        ImageTag.objects.create(image=copy, key=tag.key, value=tag.value)
    if image.file:
        stored = uploads.copy_image_file(image, copy)
        copy.file.name = stored
        copy.save(update_fields=["file"])
    audit.record(actor=actor, action="ims:images:copy", target=image, project=project,
                 details={"after": {"copy": str(copy.pk), "target": target.name}})
    audit.record(actor=actor, action="ims:images:copy", target=copy, project=target,
                 details={"after": snapshot(copy), "source": str(image.pk)})
    return copy
