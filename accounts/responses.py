"""The console's refusal answers, in one place: a page, or for htmx a fragment shown as a message.

imsperm.errors (the project's error handlers) and the apps' views both answer through these, so the
htmx fragment (partials/refusal.html retargeted to #messages) is written once.
"""

from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext


def refusal_fragment(reason: str, status: int, request=None) -> HttpResponse:
    """The refusal as an htmx fragment, swapped into #messages whatever the request targeted.
    Without `request` it is drawn without context processors (they may read what is failing)."""
    response = HttpResponse(render_to_string("partials/refusal.html", {"reason": reason}, request=request),
                            status=status)
    response["HX-Retarget"] = "#messages"
    response["HX-Reswap"] = "innerHTML"
    return response


def refusal(request, template: str, status: int, reason: str, *, htmx: bool | None = None, **context):
    """`template` with the reason, or the fragment for an htmx request (`htmx` overrides how that is
    known: before django-htmx's middleware, from the HX-Request header)."""
    if getattr(request, "htmx", False) if htmx is None else htmx:
        return refusal_fragment(reason, status, request)
    return render(request, template, {"reason": reason, **context}, status=status)


def conflict(request, reason: str, *, back_url: str = "", back_label: str = ""):
    """409: the request is allowed, the object's state forbids it (a system-defined policy, say)."""
    return refusal(request, "409.html", 409, reason, back_url=back_url, back_label=back_label)


def payload_too_large(request, reason: str):
    """413: the body is over a documented limit; nothing of it was parsed."""
    if request.path_info.startswith("/iam/config/"):
        from accounts.iac import limits

        reason = gettext("%(reason)s A configuration file takes at most %(limit)s bytes.") % {
            "reason": reason, "limit": f"{limits.MAX_BYTES:,}"}
    return refusal(request, "400.html", 413, reason)
