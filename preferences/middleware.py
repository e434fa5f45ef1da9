"""Each request in the person's time zone and language: activated from the session's copy of their
preferences (no query), and `request.preferences` for the templates (theme, zone). A saved language
wins over the browser's Accept-Language (django.middleware.locale.LocaleMiddleware, which ran first);
none saved, the browser's stays."""

from zoneinfo import ZoneInfoNotFoundError

from django.utils import timezone, translation

from .session import ANONYMOUS, shown_for


class PreferencesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        shown = shown_for(request)
        request.preferences = shown
        try:
            timezone.activate(shown.zone)
        except ZoneInfoNotFoundError:  # a zone removed from the system's tz database since it was chosen
            request.preferences = ANONYMOUS
            timezone.activate(ANONYMOUS.zone)
        if request.preferences.language and translation.check_for_language(request.preferences.language):
            translation.activate(request.preferences.language)
            request.LANGUAGE_CODE = translation.get_language()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
