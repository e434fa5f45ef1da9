"""The decision API's URLs (under /api/v1/): every route is public to the console's sign-in, because
the API authenticates by bearer token itself (the route crawler reads the declaration)."""

from functools import wraps

from django.http import JsonResponse

from accounts.permissions import public_view

from .api import api


def _json_405(view):
    """django-ninja answers a method a route lacks with a plain-text 405: a client of a JSON API gets
    JSON instead, naming the methods in the text and in Allow."""

    @wraps(view)
    def answer(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code != 405:
            return response
        allowed = response.get("Allow", "")
        refused = JsonResponse({"detail": f"{request.method} is not allowed here: use {allowed}."}, status=405)
        refused["Allow"] = allowed
        return refused

    return answer


patterns, app_name, namespace = api.urls
for pattern in patterns:
    pattern.callback = public_view(_json_405(pattern.callback))

urlpatterns = patterns
