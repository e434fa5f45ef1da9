"""Hands the policy engine the condition keys only the HTTP request knows (g:SourceIp)."""

from . import authz


class RequestKeysMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = authz.request_keys.set({"g:SourceIp": request.META.get("REMOTE_ADDR", "")})
        try:
            return self.get_response(request)
        finally:
            authz.request_keys.reset(token)
