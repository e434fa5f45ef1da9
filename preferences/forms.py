from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import UserPreference, validate_time_zone


def language_choices():
    """Each language in its own name (as a person looks for it), after "follow the browser"."""
    return [("", _("Follow the browser")), *settings.LANGUAGES]


class PreferencesForm(forms.Form):
    time_zone = forms.CharField(
        label=_("Time zone"), max_length=64, required=True, validators=[validate_time_zone],
        help_text=_("An IANA time zone, e.g. Asia/Shanghai or Europe/Paris. Every time in the console is "
                    "shown in it, with its offset; hover a time for the exact moment in UTC."),
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off", "spellcheck": "false"}))
    theme = forms.ChoiceField(label=_("Theme"), choices=UserPreference.Theme.choices,
                              help_text=_("Auto follows your device's light or dark setting."))
    language = forms.ChoiceField(label=_("Language"), required=False, choices=language_choices,
                                 help_text=_("Follow the browser uses its preferred language (Accept-Language)."))


class ThemeForm(forms.Form):
    theme = forms.ChoiceField(choices=UserPreference.Theme.choices)


class LanguageForm(forms.Form):
    """The top bar's language switch; "" goes back to following the browser."""

    language = forms.ChoiceField(choices=language_choices, required=False)
