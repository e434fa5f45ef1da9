"""URLs of the image browser and its operations: one POST URL per operation, named after it."""

from django.urls import path

from . import views
from .operations import OPERATIONS

app_name = "images"

urlpatterns = [
    path("", views.image_list, name="list"),
    path("create/", views.image_create, name="create"),
    path("bulk/<slug:operation>/", views.image_bulk, name="bulk"),
    path("<uuid:pk>/", views.image_detail, name="detail"),
    path("<uuid:pk>/who-can/", views.image_who_can, name="who-can"),
    path("<uuid:pk>/exports/<uuid:export_pk>/", views.image_export_download, name="export-download"),
    *(
        path(f"<uuid:pk>/{operation.name}/", views.image_operation, {"operation": operation.name},
             name=operation.name)
        for operation in OPERATIONS
    ),
]
