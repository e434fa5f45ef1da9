from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("permissions/", views.my_permissions, name="my-permissions"),
]
