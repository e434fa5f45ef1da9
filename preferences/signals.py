"""At sign-in: the person's preferences into the session, the browser's time zone kept if they have
none yet (the sign-in form's hidden `time_zone`), and the console's current project set to the last
one they worked in."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import RawPostDataException

from accounts.selectors import SESSION_PROJECT_KEY

from . import services
from .session import remember


@receiver(user_logged_in, dispatch_uid="preferences_at_sign_in")
def preferences_at_sign_in(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    try:
        zone = request.POST.get("time_zone", "") if request.method == "POST" else ""
    except RawPostDataException:  # a JSON step (a passkey) whose body was read as a stream
        zone = ""
    preference = (services.detect_time_zone(actor=user, zone=zone) if zone
                  else services.preference_of(user))
    remember(request, preference)
    if preference.last_project and not request.session.get(SESSION_PROJECT_KEY):
        request.session[SESSION_PROJECT_KEY] = preference.last_project.name
