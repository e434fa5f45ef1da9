"""The console's URLs plus the benchmark's admin peer (bench/peer_admin.py)."""

from django.urls import path

from imsperm.urls import urlpatterns as console

from .peer_admin import site

urlpatterns = [path("bench-admin/", site.urls), *console]
