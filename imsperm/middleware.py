"""Refuse, before anything reads it, a request carrying a NUL character.

No field of the console accepts NUL (Django's form fields refuse it), and PostgreSQL refuses it
in any text it is sent, so a NUL that reached a query (a search box, a `?project=`, a session
cookie, an admin object id in the path) would be a 500 there. One check, first in the chain,
answers 400 instead. (A lone surrogate cannot arrive this way: undecodable bytes become U+FFFD;
escaped in JSON, the policy parser refuses it.)
"""

from . import errors

NUL = "\x00"


def _carries_nul(request) -> bool:
    if NUL in request.path:
        return True
    sources = [request.GET, request.COOKIES]
    if request.method == "POST":
        sources.append(request.POST)
    for source in sources:
        for key in source:
            values = source.getlist(key) if hasattr(source, "getlist") else [source[key]]
            if NUL in key or any(NUL in value for value in values):
                return True
    return False


class RefuseNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _carries_nul(request):
            return errors.refuse_before_session(
                request, "The request contains a NUL character (\\x00), which no field of this console accepts.")
        return self.get_response(request)
