"""Each request in the person's time zone: activated from the session's copy of their preferences
(no query), and `request.preferences` for the templates (theme, zone)."""

from zoneinfo import ZoneInfoNotFoundError

from django.utils import timezone

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
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
