"""Each person's preferences: time zone, theme, last project, language. One row per user, made on
first need; pages read a copy kept in the session (preferences.middleware), never this table."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

TIME_ZONE_MAX_LENGTH = 64


def validate_time_zone(value: str) -> None:
    """An IANA time zone name zoneinfo knows ("Asia/Shanghai", "UTC"); "" means not chosen yet."""
    if value == "":
        return
    if len(value) > TIME_ZONE_MAX_LENGTH or value not in _known_zones():
        raise ValidationError(_("“%(zone)s” is not an IANA time zone (for example Europe/Paris, Asia/Shanghai "
                                "or UTC)."), params={"zone": value[:TIME_ZONE_MAX_LENGTH]}, code="invalid_time_zone")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationError(_("“%(zone)s” is not an IANA time zone."), params={"zone": value},
                              code="invalid_time_zone") from error


_ZONES: frozenset[str] | None = None


def _known_zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


def time_zone_choices() -> list[str]:
    return sorted(_known_zones())


class UserPreference(models.Model):
    class Theme(models.TextChoices):
        AUTO = "auto", _("Auto (follow the device)")
        LIGHT = "light", _("Light")
        DARK = "dark", _("Dark")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE,
                                related_name="preference")
    # "" until chosen or detected from the browser at the first sign-in; pages show UTC meanwhile.
    time_zone = models.CharField(_("time zone"), max_length=TIME_ZONE_MAX_LENGTH, blank=True,
                                 validators=[validate_time_zone])
    theme = models.CharField(_("theme"), max_length=5, choices=Theme.choices, default=Theme.AUTO)
    # The project whose image list the person opened last: the console opens it next time.
    last_project = models.ForeignKey("accounts.Project", verbose_name=_("last project"), null=True, blank=True,
                                     on_delete=models.SET_NULL,
                                     related_name="+")
    # A language code (for the console's translations); "" follows the browser's Accept-Language.
    language = models.CharField(_("language"), max_length=16, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("user preference")
        verbose_name_plural = _("user preferences")

    def __str__(self):
        return f"preferences of {self.user}"
