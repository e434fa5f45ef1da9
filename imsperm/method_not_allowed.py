"""Any 405 in the console is the console's own page (imsperm.errors.method_not_allowed), not the
empty body Django's `require_POST` and friends answer; the Allow header is kept.

The decision API (/api/) answers in JSON and keeps its own 405. Listed after the middleware whose
headers every page carries (CSP, frame options, no-store), so the page it renders gets them too.
"""

from django.http import HttpResponseNotAllowed

from . import errors

API_PREFIX = "/api/"


class MethodNotAllowedMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not isinstance(response, HttpResponseNotAllowed) or request.path_info.startswith(API_PREFIX):
            return response
        allowed = [method.strip() for method in response.get("Allow", "").split(",") if method.strip()]
        return errors.method_not_allowed(request, allowed)
