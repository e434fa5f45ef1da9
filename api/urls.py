"""The decision API's URLs (under /api/v1/): every route is public to the console's sign-in, because
the API authenticates by bearer token itself (the route crawler reads the declaration)."""

from accounts.permissions import public_view

from .api import api

patterns, app_name, namespace = api.urls
for pattern in patterns:
    public_view(pattern.callback)

urlpatterns = patterns
