"""Error pages that explain themselves; htmx requests get a fragment shown as a message."""

import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext

from accounts.responses import conflict, payload_too_large, refusal, refusal_fragment

__all__ = ["conflict", "payload_too_large"]  # the 409 and 413 answers live in accounts.responses


def permission_denied(request, exception=None):
    """403: the refusal's sentence, and the "Request access" link pre-filled from the engine's decision the
    exception carries (accounts.enforcement.Denied), when a grant would change it."""
    from accounts.access_requests import asked_for
    from accounts.findings import localized

    said = exception.args[0] if exception is not None and exception.args else ""
    # A refusal worded as a Message (stored and audited in English) reads in the person's language.
    reason = localized(said) or gettext("Your permissions do not allow this request.")
    return refusal(request, "403.html", 403, reason, asked=asked_for(getattr(exception, "explanation", None)))


def method_not_allowed(request, allowed: list[str]):
    """405: this address does not take the request's method; the page says which ones it does."""
    accepted = ", ".join(allowed) or gettext("none")
    reason = gettext("This address does not accept %(method)s requests. It accepts: %(accepted)s.") % {
        "method": request.method, "accepted": accepted}
    response = refusal(request, "405.html", 405, reason, allowed=allowed)
    response["Allow"] = ", ".join(allowed)
    return response


def page_not_found(request, exception=None):
    return refusal(request, "404.html", 404, gettext("Not found, or outside the projects you can see."))


def bad_request(request, exception=None):
    from . import busy

    if busy.busy_cause(exception) is not None:  # a session save that lost the database: 503, not 400
        return busy.busy_response(request)
    if isinstance(exception, RequestDataTooBig):
        limit = f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,}"
        return payload_too_large(request, gettext("The request is larger than this console accepts (%(limit)s bytes "
                                                  "of form data).") % {"limit": limit})
    return refusal(request, "400.html", 400, gettext("The request could not be understood."))


def service_unavailable(request, reason: str):
    """503: the database stayed busy for the whole bounded wait (imsperm.busy adds Retry-After).

    Rendered without the request's context processors: they would read the busy database."""
    if request.headers.get("HX-Request") == "true":
        return refusal_fragment(reason, 503)
    return HttpResponse(render_to_string("503.html", {"reason": reason, "again": request.get_full_path()}),
                        status=503)


def server_error(request):
    """500, unless the error is a busy database (raised outside a view): then 503 with Retry-After."""
    from . import busy

    error = sys.exc_info()[1]
    if error is not None and busy.is_busy(error):
        return busy.busy_response(request)
    return render(request, "500.html", status=500)


def refuse_before_session(request, reason: str):
    """400 for a request refused before the session and the user are read (they may be what is bad)."""
    return refusal(request, "400.html", 400, reason, htmx=request.headers.get("HX-Request") == "true")
