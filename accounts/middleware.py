"""Request-wide middleware: the condition keys only the HTTP request knows, and no caching of
signed-in pages."""

from django.utils.cache import add_never_cache_headers

from . import authz


class RequestKeysMiddleware:
    """Hands the policy engine g:SourceIp, g:MFAPresent and g:MFAAge (authz.request_keys_for)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = authz.request_keys.set(authz.request_keys_for(request))
        try:
            return self.get_response(request)
        finally:
            authz.request_keys.reset(token)


class NoStoreMiddleware:
    """Pages seen signed in (or half-way through signing in) are never stored by a browser or proxy.

    Static files are answered by WhiteNoise before this runs, so they keep their caching.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response
