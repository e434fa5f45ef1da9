"""Django admin for images: permissions from the policy engine, every write through images.services.

Only what the modify service accepts is editable (name, description, OS version, minimums,
protection); type, status, project, encryption, format and size are read-only, since no service
changes them. Images are created in the console (with their file), so the admin offers no add.
Tags are replaced by `image_tags_set`; members are added and removed by the share services.
Exports are records of what images.services.image_export wrote: read-only here (viewing one asks the
engine for ims:images:export, see accounts.backends), downloaded from the image's page.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied

from accounts.admin import ReadOnlyAdmin, ServiceAdminMixin, ServiceInlineMixin

from . import services
from .models import Image, ImageExport, ImageMember, ImageTag


class ImageTagInline(admin.TabularInline):
    model = ImageTag
    extra = 0
    max_num = 10


class ImageMemberInline(ServiceInlineMixin, admin.TabularInline):
    model = ImageMember
    fields = ["project", "status"]
    readonly_fields = ["status"]


class ImageAdminForm(forms.ModelForm):
    # The revision this form was loaded with, posted back so a stale form is refused, not saved
    # (the same guard as the console's Modify and Tags forms).
    loaded_revision = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["loaded_revision"].initial = self.instance.revision

    class Meta:
        model = Image
        fields = ["name", "description", "os_version", "min_disk", "min_ram", "protected"]


@admin.register(Image)
class ImageAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = ImageAdminForm
    list_display = ["name", "image_type", "status", "os_type", "architecture", "disk_format", "project", "protected"]
    list_filter = ["image_type", "status", "os_type", "architecture", "disk_format", "project"]
    search_fields = ["name", "id"]
    list_select_related = ["project"]
    fields = ["id", "name", "description", "os_version", "min_disk", "min_ram", "protected",
              "image_type", "kind", "status", "os_type", "platform", "os_bit", "architecture", "disk_format",
              "size", "encryption_key_id", "project", "source", "file", "created_at", "updated_at",
              "loaded_revision"]
    readonly_fields = [field for field in fields if field not in (*services.MODIFIABLE_FIELDS, "loaded_revision")]
    inlines = [ImageTagInline, ImageMemberInline]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        obj.expected_revision = form.cleaned_data["loaded_revision"]
        changes = {field: form.cleaned_data[field] for field in form.changed_data
                   if field in services.MODIFIABLE_FIELDS}
        if changes:
            updated = self.call_service(request, "change", obj, services.image_update,
                                        image=Image.objects.get(pk=obj.pk), expected_revision=obj.expected_revision,
                                        **changes)
            obj.expected_revision = updated.revision  # the tags, saved next, follow this save

    def save_formset(self, request, form, formset, change):
        image = Image.objects.get(pk=form.instance.pk)
        if formset.model is ImageTag:
            self._save_tags(request, image, formset, expected_revision=form.instance.expected_revision)
            return
        added = [f for f in formset.extra_forms if f.has_changed() and f not in formset.deleted_forms]
        for member_form in formset.deleted_forms:
            if member_form.instance.pk is not None:
                self.call_service(request, "ims:images:share", image, services.image_share_remove, image=image,
                                  member=member_form.instance.project)
        if added:
            self.call_service(request, "ims:images:share", image, services.image_share_add, image=image,
                              members=[f.cleaned_data["project"] for f in added])

    def _save_tags(self, request, image, formset, *, expected_revision: int):
        """The rows as posted become the image's whole tag set, in one service call."""
        if not formset.has_changed():
            return
        tags = {tag.key: tag.value for tag in image.tags.all()}
        for tag_form in formset.forms:
            if tag_form.instance.pk is not None:
                tags.pop(tag_form.initial.get("key"), None)
            if tag_form in formset.deleted_forms or (not tag_form.has_changed() and tag_form.instance.pk is None):
                continue
            tags[tag_form.cleaned_data["key"]] = tag_form.cleaned_data.get("value", "")
        self.call_service(request, "change", image, services.image_tags_set, image=image, tags=tags,
                          expected_revision=expected_revision)

    def delete_through_service(self, request, obj):
        self.call_service(request, "delete", obj, services.image_delete, image=obj)


@admin.register(ImageExport)
class ImageExportAdmin(ReadOnlyAdmin):
    """Records of files the export service wrote: read-only, as the audit log (the one read-only admin)."""

    list_display = ["name", "image", "project", "size", "sha256", "actor_name", "created_at"]
    list_filter = ["project", "is_manifest"]
    search_fields = ["name", "sha256", "image__name", "image__id"]
    list_select_related = ["image", "project"]
    fields = ["id", "name", "image", "project", "file", "size", "sha256", "is_manifest", "actor_name", "created_at"]
    readonly_fields = fields

    def history_view(self, request, object_id, extra_context=None):
        # Django's history looks the object up before asking: ask first, so a refused reader learns nothing.
        if not self.has_view_or_change_permission(request):
            self._audit_denied(request, "view", object_id)
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)
