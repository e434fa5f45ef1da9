"""The peer of the image list: a Django admin changelist of the same table, registered as well as the
admin allows (fixed filter choices, no full result count, related rows joined), on its own site so
the console's own admin stays as it is. Mounted by bench/urls.py for benchmark runs only."""

from django.contrib import admin

from images.models import Image

site = admin.AdminSite(name="bench_admin")
PAGE_SIZE = 10


@admin.register(Image, site=site)
class BenchImageAdmin(admin.ModelAdmin):
    list_display = ("name", "status", "os_type", "disk_format", "size", "created_at", "image_type", "project")
    list_filter = (("image_type", admin.ChoicesFieldListFilter), ("status", admin.ChoicesFieldListFilter),
                   ("os_type", admin.ChoicesFieldListFilter), ("disk_format", admin.ChoicesFieldListFilter))
    list_select_related = ("project",)
    search_fields = ("name",)
    show_full_result_count = False
    list_per_page = PAGE_SIZE
    ordering = ("name", "id")
