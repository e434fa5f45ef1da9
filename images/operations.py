"""Every image operation declared once, as data: its catalogue action, its label, the image states that
forbid it, its form, its service call and its success message. Its URL (images/urls.py), its button and
its view (images.views.image_operation, image_bulk) follow from the declaration; a name not declared
here is a 404.

One place decides how a control is drawn: hidden when the policy engine denies the action in
this project, disabled with the state rule's reason, otherwise enabled. Views and services
check the very same rules, so a button is enabled exactly when the server accepts its request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy

from accounts import wording
from accounts.findings import localized
from accounts.policy.messages import Message, gettext_noop, pgettext
from accounts.wording import Lowered, message_of

from . import forms
from .links import image_url
from .models import Image, ImageMember

PRIVATE_IMAGE_QUOTA = 100

# Creating an image needs the action of its kind (SPEC 3.1).
CREATE_ACTIONS = {
    Image.Kind.SYSTEM: "ims:serverImages:create",
    Image.Kind.DATA: "ims:dataImages:create",
    Image.Kind.WHOLE: "ims:wholeImages:create",
}


def membership_of(image: Image, project) -> ImageMember | None:
    """The share of `image` with `project`, read from the prefetched members."""
    return next((m for m in image.members.all() if m.project_id == project.pk), None)


# What each operation is called inside a sentence: a word translated in its sense (an image operation, or
# one done). The rules below say why an image's state forbids an operation as an English Message (its
# template and parameters), read in the person's language where it is shown (Operation.rule, pages) and worded
# when a service refuses with it (accounts.wording.lazy).
_MODIFY, _MODIFIED = pgettext("image operation", "modify"), pgettext("image operation done", "modified")
_TAG = pgettext("image operation", "tag")
_UPLOAD_INTO = pgettext("image operation", "upload a file into")
_DELETE, _DELETED = pgettext("image operation", "delete"), pgettext("image operation done", "deleted")
_SHARE, _SHARED = pgettext("image operation", "share"), pgettext("image operation done", "shared")
_ACCEPT, _ACCEPTED = pgettext("image operation", "accept"), pgettext("image operation done", "accepted")
_REJECT, _REJECTED = pgettext("image operation", "reject"), pgettext("image operation done", "rejected")
_EXPORT, _EXPORTED = pgettext("image operation", "export"), pgettext("image operation done", "exported")
_REPLICATE, _REPLICATED = pgettext("image operation", "replicate"), pgettext("image operation done", "replicated")


# Each status inside a sentence ("this one is queued"): its label's own wording, lowered.
_STATUSES = {status.value: Lowered(message_of(status.label)) for status in Image.Status}


def _status(image: Image) -> Lowered | str:
    return _STATUSES.get(image.status, image.status)


def _owned(image: Image, project, verb: Message) -> Message | None:
    """`verb`: what only the owner may do (an "image operation" word)."""
    if image.project_id != project.pk:
        return Message(gettext_noop("Only the owning project (%(project)s) can %(verb)s this image."),
                       project=image.project.name, verb=verb)
    return None


def _private(image: Image, participle: Message) -> Message | None:
    if image.image_type == Image.ImageType.GOLD:
        return Message(gettext_noop("Public images cannot be %(done)s."), done=participle)
    if image.image_type == Image.ImageType.MARKET:
        return Message(gettext_noop("Marketplace images cannot be %(done)s."), done=participle)
    return None


def _active(image: Image, participle: Message) -> Message | None:
    if image.status != Image.Status.ACTIVE:
        return Message(gettext_noop("Only active images can be %(done)s; this one is %(status)s."),
                       done=participle, status=_status(image))
    return None


def modify_rule(image, project):
    return _owned(image, project, _MODIFY) or _private(image, _MODIFIED) or _active(image, _MODIFIED)


def tags_rule(image, project):
    owned = _owned(image, project, _TAG)
    if image.image_type == Image.ImageType.GOLD:
        return owned or Message(gettext_noop("Public images cannot be tagged."))
    return owned


def upload_rule(image, project):
    owned = _owned(image, project, _UPLOAD_INTO)
    if image.status != Image.Status.QUEUED:
        return owned or Message(gettext_noop("Only queued images accept a file; this one is %(status)s."),
                                status=_status(image))
    return owned


def delete_rule(image, project):
    if image.image_type == Image.ImageType.GOLD:
        return Message(gettext_noop("Public images are protected and cannot be deleted."))
    return (
        _owned(image, project, _DELETE)
        or _private(image, _DELETED)
        or (Message(gettext_noop("Protected images cannot be deleted. Turn protection off first."))
            if image.protected else None)
    )


def share_rule(image, project):
    return (
        _owned(image, project, _SHARE)
        or _private(image, _SHARED)
        or (Message(gettext_noop("Encrypted images cannot be shared.")) if image.encrypted else None)
    )


def _pending_share(image, project, verb: Message, done: Message) -> Message | None:
    if image.project_id == project.pk:
        return Message(gettext_noop("This image belongs to %(project)s: there is no share to %(verb)s."),
                       project=project.name, verb=verb)
    membership = membership_of(image, project)
    if membership is None or membership.status != ImageMember.Status.PENDING:
        return Message(gettext_noop("Only an image shared with %(project)s and awaiting acceptance can be "
                                    "%(done)s."), project=project.name, done=done)
    return None


def accept_rule(image, project):
    """A share awaiting acceptance, or one the project rejected: it may accept that again."""
    membership = membership_of(image, project)
    if image.project_id != project.pk and membership is not None and membership.status == ImageMember.Status.REJECTED:
        return None
    return _pending_share(image, project, _ACCEPT, _ACCEPTED)


def reject_rule(image, project):
    return _pending_share(image, project, _REJECT, _REJECTED)


def export_rule(image, project):
    return (
        _owned(image, project, _EXPORT)
        or _private(image, _EXPORTED)
        or _active(image, _EXPORTED)
        or (Message(gettext_noop("ISO images cannot be exported.")) if image.disk_format == Image.DiskFormat.ISO
            else None)
        or (Message(gettext_noop("Full-server images cannot be exported.")) if image.kind == Image.Kind.WHOLE
            else None)
    )


def replicate_rule(image, project):
    return _owned(image, project, _REPLICATE) or _private(image, _REPLICATED) or _active(image, _REPLICATED)


# Whether an operation can ever apply to an image seen from a project. A list row leaves out the
# controls that never can (Accept on your own image, every write on a public one) and keeps, disabled
# with the reason, those that the image's state forbids only for now (a queued image's Export).
_FINAL = (Image.Status.KILLED, Image.Status.DELETED)


def _owned_private(image, project) -> bool:
    return image.project_id == project.pk and image.image_type not in (Image.ImageType.GOLD, Image.ImageType.MARKET)


def modify_applies(image, project):
    return _owned_private(image, project) and image.status not in _FINAL


def upload_applies(image, project):
    return image.project_id == project.pk and image.status == Image.Status.QUEUED


def share_applies(image, project):
    return _owned_private(image, project) and not image.encrypted


def pending_share_applies(image, project):
    membership = membership_of(image, project)
    return image.project_id != project.pk and membership is not None and membership.status == ImageMember.Status.PENDING


def export_applies(image, project):
    return (modify_applies(image, project) and image.disk_format != Image.DiskFormat.ISO
            and image.kind != Image.Kind.WHOLE)


def owned_applies(image, project):
    """Tags and Delete: only the owner's private images, whatever their state."""
    return _owned_private(image, project)


def always_applies(image, project):
    return True


def cross_region_rule(image) -> Message | None:
    """What forbids replicating to another region (SPEC 8)."""
    if image.encrypted:
        return Message(gettext_noop("Encrypted images cannot be replicated to another region."))
    if image.disk_format == Image.DiskFormat.ISO:
        return Message(gettext_noop("ISO images cannot be replicated to another region."))
    if image.kind == Image.Kind.WHOLE:
        return Message(gettext_noop("Full-server images cannot be replicated to another region."))
    return None


# --- what each operation does: its service call and its success message ------------------------------


class ImageChanged(ValidationError):
    """The operation failed and changed the image itself (a failed upload kills it): the page is drawn anew."""


@dataclass(frozen=True)
class Done:
    """A successful operation: the message to show, and where to go next (None: the image's page)."""

    message: str
    url: str | None = None


def _services():
    """images.services, imported when an operation runs: the services check the rules declared here, so
    they import this module and it cannot import them first."""
    from . import services

    return services


def _modify(actor, image, project, data) -> Done:
    services = _services()
    changes = {field: data[field] for field in services.MODIFIABLE_FIELDS}
    services.image_update(actor=actor, image=image, project=project, expected_revision=data["revision"], **changes)
    return Done(gettext("Image %(name)s was modified.") % {"name": image.name})


def _tags(actor, image, project, data) -> Done:
    _services().image_tags_set(actor=actor, image=image, project=project, tags=data["tags"],
                               expected_revision=data["revision"])
    return Done(gettext("Tags of %(name)s were saved (%(count)s).") % {"name": image.name, "count": len(data['tags'])})


def _upload(actor, image, project, data) -> Done:
    outcome = _services().image_upload(actor=actor, image=image, project=project, uploaded=data["file"],
                                       max_bytes=settings.IMSPERM_MAX_UPLOAD_BYTES)
    if not outcome.ok:
        raise ImageChanged({"file": ValidationError(gettext_lazy("%(problem)s The upload failed and the image is now "
                                                                 "killed."),
                                                    params={"problem": wording.lazy(outcome.problem)})})
    return Done(gettext("The file was uploaded: %(name)s is now active.") % {"name": image.name})


def _share(actor, image, project, data) -> Done:
    _services().image_share_add(actor=actor, image=image, project=project, members=data["projects"])
    names = ", ".join(p.name for p in data["projects"])
    return Done(gettext("%(name)s is shared with %(names)s; they must accept it.")
                 % {"name": image.name, "names": names})


def _unshare(actor, image, project, data) -> Done:
    _services().image_share_remove(actor=actor, image=image, project=project, member=data["project"])
    return Done(gettext("%(name)s is no longer shared with %(name2)s.")
                 % {"name": image.name, "name2": data['project'].name})


def _accept(actor, image, project, data) -> Done:
    _services().image_share_accept(actor=actor, image=image, project=project)
    return Done(gettext("You accepted %(name)s in %(name2)s.") % {"name": image.name, "name2": project.name})


def _reject(actor, image, project, data) -> Done:
    _services().image_share_reject(actor=actor, image=image, project=project)
    return Done(gettext("You rejected %(image)s in %(project)s.") % {"image": image.name, "project": project.name},
                reverse("images:list"))


def _export(actor, image, project, data) -> Done:
    export = _services().image_export(actor=actor, image=image, project=project)
    link = format_html('<a href="{}" data-testid="export-download">{}</a>', export.get_absolute_url(), export.name)
    return Done(format_html(gettext("{image} was exported as {file} ({size}, SHA-256 <code>{sha256}</code>)."),
                            image=image.name, file=link, size=filesizeformat(export.size), sha256=export.sha256))


def _replicate(actor, image, project, data) -> Done:
    replica = _services().image_replicate(actor=actor, image=image, project=project, target=data["target"])
    return Done(gettext("%(image)s was replicated to %(project)s.")
                % {"image": image.name, "project": data["target"].name},
                replica.get_absolute_url())


def _delete(actor, image, project, data) -> Done:
    _services().image_delete(actor=actor, image=image, project=project)
    return Done(gettext("Image %(name)s was deleted.") % {"name": image.name}, reverse("images:list"))


@dataclass(frozen=True)
class Operation:
    """One thing a user can do to an image, declared once: everything the pages need follows from it.

    `perform(actor, image, project, data)` calls the service and says what happened (`Done`); `data`
    is the cleaned `form` (an `images.forms.OperationForm`), or empty for operations without input,
    which are a single POST. `in_row` ones appear in a list row's menu; `bulk_tab` names the list tab
    whose selected rows it can act on (`past` is its past tense there). `per_member` ones act on one
    share member: drawn beside each member, not in the details page's bar nor as a form of their own.
    `applies` says whether the operation can ever apply to an image (else a row leaves its control out).
    `why` says why the image's state forbids it now, as an English Message (the service refuses with it, worded);
    `rule` reads that in the person's language (pages).
    """

    name: str
    action: str
    label: str
    why: Callable[[Image, object], Message | None]  # why the image's state forbids it now (None: nothing does)
    perform: Callable[..., Done]
    form: type | None = None
    in_row: bool = True
    bulk_tab: str = ""
    past: str = ""
    per_member: bool = False
    danger: bool = False
    confirm: str = ""
    applies: Callable[[Image, object], bool] = always_applies

    @property
    def needs_input(self) -> bool:
        return self.form is not None

    def rule(self, image, project) -> str | None:
        """Why the image's state forbids the operation now, in the person's language (None: nothing does)."""
        reason = self.why(image, project)
        return None if reason is None else localized(reason)

    @property
    def bulk(self) -> bool:
        return bool(self.bulk_tab)

    def url(self, image) -> str:
        return image_url(self.name, image.pk)


OPERATIONS: tuple[Operation, ...] = (
    Operation("modify", "ims:images:update", gettext_lazy("Modify"), modify_rule, _modify, forms.ImageModifyForm,
              applies=modify_applies),
    Operation("tags", "ims:images:update", gettext_lazy("Tags"), tags_rule, _tags, forms.TagsForm, in_row=False,
              applies=owned_applies),
    Operation("upload", "ims:images:upload", gettext_lazy("Upload file"), upload_rule, _upload, forms.UploadForm,
              applies=upload_applies),
    Operation("share", "ims:images:share", gettext_lazy("Share"), share_rule, _share, forms.ShareForm,
              applies=share_applies),
    Operation("unshare", "ims:images:share", gettext_lazy("Remove member"), share_rule, _unshare, forms.UnshareForm,
              in_row=False, per_member=True),
    Operation("accept", "ims:images:share", gettext_lazy("Accept"), accept_rule, _accept, bulk_tab="awaiting",
              past="accepted", applies=pending_share_applies),
    Operation("reject", "ims:images:share", gettext_lazy("Reject"), reject_rule, _reject, bulk_tab="awaiting",
              past="rejected", danger=True, applies=pending_share_applies),
    Operation("export", "ims:images:export", gettext_lazy("Export"), export_rule, _export, bulk_tab="private",
              past="exported", applies=export_applies),
    Operation("replicate", "ims:images:copy", gettext_lazy("Replicate"), replicate_rule, _replicate,
              forms.ReplicateForm, applies=modify_applies),
    Operation("delete", "ims:images:delete", gettext_lazy("Delete"), delete_rule, _delete, bulk_tab="private",
              past="deleted",
              danger=True, applies=owned_applies, confirm=gettext_lazy("Delete image {subject}? This cannot be "
                                                                       "undone.")),
)
OPERATIONS_BY_NAME = {operation.name: operation for operation in OPERATIONS}
BULK_OPERATIONS = tuple(operation for operation in OPERATIONS if operation.bulk)


@dataclass(frozen=True)
class Control:
    """How one operation is drawn for one image: enabled, or disabled with the reason."""

    operation: Operation
    url: str
    reason: str | None

    @property
    def enabled(self) -> bool:
        return self.reason is None

    @property
    def action(self) -> str:
        return self.operation.action

    @property
    def name(self) -> str:
        return self.operation.name


def controls_for(
    authorization, image: Image, project, operations=OPERATIONS, *, applicable_only=False
) -> list[Control]:
    """The controls to draw for `image` seen from `project`: engine-denied ones are left out (in memory).

    With `applicable_only` (a list row's menu), disabled controls of operations that can never apply
    to this image are left out too; an enabled control is never left out.
    """
    controls = []
    for operation in operations:
        if not authorization.allows(operation.action, project, image):
            continue
        reason = operation.why(image, project)
        if applicable_only and reason is not None and not operation.applies(image, project):
            continue  # left out: its reason is never read
        controls.append(Control(operation, operation.url(image), None if reason is None else localized(reason)))
    return controls


@dataclass(frozen=True)
class CreateControl:
    kind: str
    label: str
    action: str
    reason: str | None

    @property
    def enabled(self) -> bool:
        return self.reason is None

    @property
    def url(self) -> str:
        return f"{reverse('images:create')}?kind={self.kind}"


def quota_reason(image_count: int) -> Message | None:
    if image_count >= PRIVATE_IMAGE_QUOTA:
        return Message(gettext_noop("The project has reached its quota of %(quota)s private images."),
                       quota=PRIVATE_IMAGE_QUOTA)
    return None


def create_controls(authorization, project, image_count: int) -> list[CreateControl]:
    """One "Create" control per image kind the engine allows in `project`."""
    quota = quota_reason(image_count)
    reason = None if quota is None else localized(quota)
    return [
        CreateControl(kind, Image.Kind(kind).label, action, reason)
        for kind, action in CREATE_ACTIONS.items()
        if authorization.allows(action, project)
    ]
