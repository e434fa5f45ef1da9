"""The site's URLs plus one that hands any name to the operation view, as if an operation's URL existed
without its declaration (tests/images/test_operation_declarations.py)."""

from django.urls import path

from images import views
from imsperm.urls import urlpatterns as site_urlpatterns

urlpatterns = [
    path("any-operation/<uuid:pk>/<slug:operation>/", views.image_operation),
    *site_urlpatterns,
]
