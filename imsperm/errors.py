"""Error pages that explain themselves; htmx requests get a fragment shown as a message."""

import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string


def _respond(request, template, status, reason):
    if getattr(request, "htmx", False):
        response = render(request, "partials/refusal.html", {"reason": reason}, status=status)
        response["HX-Retarget"] = "#messages"
        response["HX-Reswap"] = "innerHTML"
        return response
    return render(request, template, {"reason": reason}, status=status)


def permission_denied(request, exception=None):
    reason = str(exception) if exception and str(exception) else "Your permissions do not allow this request."
    return _respond(request, "403.html", 403, reason)


def conflict(request, reason: str, *, back_url: str = "", back_label: str = ""):
    """409: the request is allowed, the object's state forbids it (a system-defined policy, say)."""
    if getattr(request, "htmx", False):
        return _respond(request, "409.html", 409, reason)
    return render(request, "409.html", {"reason": reason, "back_url": back_url, "back_label": back_label},
                  status=409)


def method_not_allowed(request, allowed: list[str]):
    """405: this address does not take the request's method; the page says which ones it does."""
    accepted = ", ".join(allowed) or "none"
    reason = f"This address does not accept {request.method} requests. It accepts: {accepted}."
    if getattr(request, "htmx", False):
        response = _respond(request, "405.html", 405, reason)
    else:
        response = render(request, "405.html", {"reason": reason, "allowed": allowed}, status=405)
    response["Allow"] = ", ".join(allowed)
    return response


def page_not_found(request, exception=None):
    return _respond(request, "404.html", 404, "Not found, or outside the projects you can see.")


def bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        return payload_too_large(request, "The request is larger than this console accepts "
                                          f"({settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes of form data).")
    return _respond(request, "400.html", 400, "The request could not be understood.")


def payload_too_large(request, reason: str):
    """413: the body is over a documented limit; nothing of it was parsed."""
    if request.path_info.startswith("/iam/config/"):
        from accounts.iac import limits

        reason = f"{reason} A configuration file takes at most {limits.MAX_BYTES:,} bytes."
    return _respond(request, "400.html", 413, reason)


def service_unavailable(request, reason: str):
    """503: the database stayed busy for the whole bounded wait (imsperm.busy adds Retry-After).

    Rendered without the request's context processors: they would read the busy database."""
    if request.headers.get("HX-Request") == "true":
        response = HttpResponse(render_to_string("partials/refusal.html", {"reason": reason}), status=503)
        response["HX-Retarget"] = "#messages"
        response["HX-Reswap"] = "innerHTML"
        return response
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
    if request.headers.get("HX-Request") == "true":
        response = render(request, "partials/refusal.html", {"reason": reason}, status=400)
        response["HX-Retarget"] = "#messages"
        response["HX-Reswap"] = "innerHTML"
        return response
    return render(request, "400.html", {"reason": reason}, status=400)
