"""The signed-in person's own preferences: the settings page, the top bar's theme switch and the
browser's time zone sent once after the first sign-in. Each writes through preferences.services."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from accounts.forms import add_service_errors
from accounts.permissions import login_only, public_view

from . import services
from .forms import LanguageForm, PreferencesForm, ThemeForm
from .models import time_zone_choices
from .session import remember


@login_only
def settings_page(request):
    """Time zone and theme, for the signed-in person only (there is no page for someone else's)."""
    shown = request.preferences
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            try:
                preference = services.update_preferences(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                remember(request, preference)
                messages.success(request, gettext("Preferences saved: times are shown in %(zone)s.")
                                 % {"zone": preference.time_zone})
                return redirect("preferences:settings")
        status = 422
    else:
        form = PreferencesForm(initial={"time_zone": shown.zone_name, "theme": shown.theme,
                                        "language": shown.language})
        status = 200
    return render(request, "preferences/settings.html", {"form": form, "zones": time_zone_choices(),
                                                          "detected": bool(shown.time_zone)}, status=status)


def _back(request) -> str:
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return "/"


def _referring_page(request) -> str:
    """The page the switch was pressed on, with its query (the Referer, as Django's set_language reads it):
    the top bar does not echo the page's address into a form field."""
    referer = request.headers.get("Referer", "")
    if url_has_allowed_host_and_scheme(referer, {request.get_host()}, request.is_secure()):
        parts = urlsplit(referer)
        if parts.path.startswith("/"):
            return parts.path + (f"?{parts.query}" if parts.query else "")
    return "/"


@login_only
@require_POST
def theme_switch(request):
    """The top bar's Auto / Light / Dark: remembered for the person; fetch gets 204, a form a redirect back."""
    form = ThemeForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors.get_json_data()}, status=422)
    remember(request, services.update_preferences(actor=request.user, theme=form.cleaned_data["theme"]))
    if request.headers.get("X-Requested-With") == "fetch":
        return HttpResponse(status=204)
    return redirect(_back(request))


@login_only
@require_POST
def detect_time_zone(request):
    """The browser's zone (Intl.DateTimeFormat().resolvedOptions().timeZone), kept only while the person
    has none yet; an unknown one gives UTC."""
    preference = services.detect_time_zone(actor=request.user, zone=request.POST.get("time_zone", "")[:64])
    shown = remember(request, preference)
    return JsonResponse({"time_zone": shown.zone_name})


@public_view
@require_POST
def language_switch(request):
    """The top bar's language: remembered for a signed-in person (their preferences, then every sign-in)
    and, as Django's set_language does, in the language cookie for anyone (the sign-in page too)."""
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors.get_json_data()}, status=422)
    language = form.cleaned_data["language"]
    if request.user.is_authenticated:
        remember(request, services.update_preferences(actor=request.user, language=language))
    response = redirect(_back(request) if "next" in request.POST else _referring_page(request))
    if language:
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
                            path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
                            secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                            samesite=settings.LANGUAGE_COOKIE_SAMESITE)
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME, path=settings.LANGUAGE_COOKIE_PATH,
                               domain=settings.LANGUAGE_COOKIE_DOMAIN)
    return response
