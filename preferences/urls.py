from django.urls import path

from . import views

app_name = "preferences"

urlpatterns = [
    path("", views.settings_page, name="settings"),
    path("theme/", views.theme_switch, name="theme"),
    path("language/", views.language_switch, name="language"),
    path("time-zone/detect/", views.detect_time_zone, name="detect-time-zone"),
]
