"""Images, their tags and their share members (SPEC section 8)."""

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy

from accounts.models import Project

from .links import image_url

MAX_TAGS_PER_IMAGE = 10
MAX_MEMBERS_PER_IMAGE = 128
# SQLite's FTS5 trigram table of image names (kept by triggers, images/search_index.py).
NAME_SEARCH_TABLE = "images_image_name_fts"
# The browser's sort orders (images.selectors.SORTS); each gets an index per kind of tab.
SORT_INDEX_FIELDS = {
    "name": ["name", "id"],
    "status": ["status", "name", "id"],
    "os": ["os_type", "platform", "name", "id"],
    "format": ["disk_format", "name", "id"],
    "size": ["size", "name", "id"],
    "created": ["created_at", "id"],
}
# Every filter of the toolbar, so a filtered count reads the index alone.
FILTER_COVER_FIELDS = ["status", "os_type", "platform", "architecture", "disk_format"]


def _browser_indexes():
    """An index per tab kind × sort: the project's private images, and every image of one type (Public);
    and per tab kind one covering the filters for counts."""
    indexes = []
    for sort, fields in SORT_INDEX_FIELDS.items():
        indexes.append(models.Index(fields=["project", "image_type", *fields], name=f"image_project_{sort}"))
        indexes.append(models.Index(fields=["image_type", *fields], name=f"image_type_{sort}"))
    indexes.append(models.Index(fields=["project", "image_type", *FILTER_COVER_FIELDS], name="image_project_filters"))
    indexes.append(models.Index(fields=["image_type", *FILTER_COVER_FIELDS], name="image_type_filters"))
    return indexes

image_name_validator = RegexValidator(
    r"^(?! )[A-Za-z0-9 ._-]{1,128}(?<! )$",
    gettext_lazy("Use 1–128 letters, digits, spaces, hyphens, periods or underscores, with no space at either end."),
)


class Image(models.Model):
    """An image record; `revision` increases on every change of its attributes or tags, so a
    form loaded before someone else's save cannot silently revert it."""

    class ImageType(models.TextChoices):
        GOLD = "gold", gettext_lazy("Public")
        PRIVATE = "private", gettext_lazy("Private")
        SHARED = "shared", gettext_lazy("Shared")
        MARKET = "market", gettext_lazy("Marketplace")

    class Status(models.TextChoices):
        QUEUED = "queued", gettext_lazy("Queued")
        SAVING = "saving", gettext_lazy("Saving")
        ACTIVE = "active", gettext_lazy("Active")
        KILLED = "killed", gettext_lazy("Killed")
        DELETED = "deleted", gettext_lazy("Deleted")

    class Kind(models.TextChoices):
        SYSTEM = "system", gettext_lazy("System disk")
        DATA = "data", gettext_lazy("Data disk")
        WHOLE = "whole", gettext_lazy("Full server")

    class OsType(models.TextChoices):
        LINUX = "Linux", "Linux"
        WINDOWS = "Windows", "Windows"
        OTHER = "Other", gettext_lazy("Other")

    class Architecture(models.TextChoices):
        X86 = "x86", "x86"
        ARM = "arm", gettext_lazy("Arm")

    class DiskFormat(models.TextChoices):
        ZVHD2 = "zvhd2", "ZVHD2"
        VHD = "vhd", "VHD"
        ZVHD = "zvhd", "ZVHD"
        RAW = "raw", "RAW"
        QCOW2 = "qcow2", "QCOW2"
        ISO = "iso", "ISO"

    PLATFORMS = ["Ubuntu", "CentOS", "Debian", "EulerOS", "openEuler", "Windows", "Other"]

    id = models.UUIDField(gettext_lazy("id"), primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(gettext_lazy("name"), max_length=128, validators=[image_name_validator])
    description = models.CharField(gettext_lazy("description"), max_length=1024, blank=True)
    image_type = models.CharField(gettext_lazy("image type"), max_length=8, choices=ImageType.choices,
                                  default=ImageType.PRIVATE)
    kind = models.CharField(gettext_lazy("kind"), max_length=8, choices=Kind.choices, default=Kind.SYSTEM)
    status = models.CharField(gettext_lazy("status"), max_length=8, choices=Status.choices, default=Status.QUEUED)
    os_type = models.CharField(gettext_lazy("os type"), max_length=8, choices=OsType.choices, default=OsType.LINUX)
    platform = models.CharField(gettext_lazy("platform"), max_length=32, choices=[(p, p) for p in PLATFORMS],
                                default="Ubuntu")
    os_version = models.CharField(gettext_lazy("os version"), max_length=64, blank=True)
    os_bit = models.PositiveSmallIntegerField(gettext_lazy("os bit"), default=64,
                                              choices=[(32, gettext_lazy("32-bit")), (64, gettext_lazy("64-bit"))])
    architecture = models.CharField(gettext_lazy("architecture"), max_length=4, choices=Architecture.choices,
                                    default=Architecture.X86)
    disk_format = models.CharField(gettext_lazy("disk format"), max_length=8, choices=DiskFormat.choices,
                                   default=DiskFormat.QCOW2)
    min_disk = models.PositiveIntegerField(
        gettext_lazy("minimum disk (GB)"), default=40, validators=[MinValueValidator(1), MaxValueValidator(1024)]
    )
    min_ram = models.PositiveIntegerField(
        gettext_lazy("minimum memory (MB)"), default=1024,
        validators=[MinValueValidator(0), MaxValueValidator(1024 * 1024)],
    )
    size = models.PositiveBigIntegerField(gettext_lazy("size (bytes)"), default=0)
    protected = models.BooleanField(gettext_lazy("protected"), default=False)
    encryption_key_id = models.CharField(gettext_lazy("KMS key id"), max_length=64, blank=True)
    project = models.ForeignKey(Project, verbose_name=gettext_lazy("project"), on_delete=models.PROTECT,
                                related_name="images")
    source = models.ForeignKey("self", verbose_name=gettext_lazy("source"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="copies")
    file = models.FileField(gettext_lazy("file"), upload_to="images/", blank=True)
    revision = models.PositiveIntegerField(gettext_lazy("revision"), default=1, editable=False)
    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(gettext_lazy("updated at"), auto_now=True)

    class Meta:
        verbose_name = gettext_lazy("image")
        verbose_name_plural = gettext_lazy("images")
        ordering = ["name", "id"]
        indexes = _browser_indexes()

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return image_url("detail", self.pk)

    @property
    def encrypted(self) -> bool:
        return bool(self.encryption_key_id)


class ImageTag(models.Model):
    image = models.ForeignKey(Image, verbose_name=gettext_lazy("image"), on_delete=models.CASCADE, related_name="tags")
    key = models.CharField(
        gettext_lazy("key"),
        max_length=36,
        validators=[RegexValidator(r"^[A-Za-z0-9_.-]+$", gettext_lazy("Tag keys use letters, digits, _ . -"))],
    )
    value = models.CharField(gettext_lazy("value"), max_length=43, blank=True)

    class Meta:
        verbose_name = gettext_lazy("image tag")
        verbose_name_plural = gettext_lazy("image tags")
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["image", "key"], name="unique_tag_key_per_image")]

    def __str__(self):
        return f"{self.key}={self.value}"


class ImageMember(models.Model):
    """A share of an image with a consumer project."""

    class Status(models.TextChoices):
        PENDING = "pending", gettext_lazy("Pending")
        ACCEPTED = "accepted", gettext_lazy("Accepted")
        REJECTED = "rejected", gettext_lazy("Rejected")

    image = models.ForeignKey(Image, verbose_name=gettext_lazy("image"), on_delete=models.CASCADE,
                              related_name="members")
    project = models.ForeignKey(Project, verbose_name=gettext_lazy("project"), on_delete=models.CASCADE,
                                related_name="shared_images")
    status = models.CharField(gettext_lazy("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(gettext_lazy("updated at"), auto_now=True)

    class Meta:
        verbose_name = gettext_lazy("image member")
        verbose_name_plural = gettext_lazy("image members")
        ordering = ["project__name"]
        constraints = [models.UniqueConstraint(fields=["image", "project"], name="unique_member_per_image")]
        indexes = [models.Index(fields=["project", "status", "image"], name="member_project_status")]

    def __str__(self):
        return f"{self.image} → {self.project} ({self.status})"


class ImageExport(models.Model):
    """One export of an image from a project: the stored file (or the record's manifest, for an image
    without a file), its size and SHA-256, who made it and when. The project's people the engine allows
    ims:images:export on the image download it from the image page."""

    id = models.UUIDField(gettext_lazy("id"), primary_key=True, default=uuid.uuid4, editable=False)
    image = models.ForeignKey(Image, verbose_name=gettext_lazy("image"), on_delete=models.CASCADE,
                              related_name="exports")
    project = models.ForeignKey(Project, verbose_name=gettext_lazy("project"), on_delete=models.PROTECT,
                                related_name="image_exports")
    file = models.FileField(gettext_lazy("file"), upload_to="exports/", max_length=255)
    name = models.CharField(gettext_lazy("file name"), max_length=255)  # the name a download is saved under
    size = models.PositiveBigIntegerField(gettext_lazy("size (bytes)"))
    sha256 = models.CharField(gettext_lazy("SHA-256"), max_length=64)
    is_manifest = models.BooleanField(gettext_lazy("is manifest"), default=False,
                                      help_text=gettext_lazy("The image had no file: its attributes as "
                                                                                             "JSON."))
    actor_name = models.CharField(gettext_lazy("exported by"), max_length=150, blank=True)
    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("image export")
        verbose_name_plural = gettext_lazy("image exports")
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["image", "project", "-created_at"], name="export_image_project_time")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("images:export-download", args=[self.image_id, self.pk])
