"""Django admin for images: same model validation; permissions from the policy engine."""

from django.contrib import admin

from .models import Image, ImageMember, ImageTag


class ImageTagInline(admin.TabularInline):
    model = ImageTag
    extra = 0
    max_num = 10


class ImageMemberInline(admin.TabularInline):
    model = ImageMember
    extra = 0


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["name", "image_type", "status", "os_type", "architecture", "disk_format", "project", "protected"]
    list_filter = ["image_type", "status", "os_type", "architecture", "disk_format", "project"]
    search_fields = ["name", "id"]
    list_select_related = ["project"]
    readonly_fields = ["id", "size", "file", "created_at", "updated_at"]
    inlines = [ImageTagInline, ImageMemberInline]
