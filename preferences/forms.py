from django import forms

from .models import UserPreference, validate_time_zone


class PreferencesForm(forms.Form):
    time_zone = forms.CharField(
        label="Time zone", max_length=64, required=True, validators=[validate_time_zone],
        help_text="An IANA time zone, e.g. Asia/Shanghai or Europe/Paris. Every time in the console is "
                  "shown in it, with its offset; hover a time for the exact moment in UTC.",
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off", "spellcheck": "false"}))
    theme = forms.ChoiceField(label="Theme", choices=UserPreference.Theme.choices,
                              help_text="Auto follows your device's light or dark setting.")


class ThemeForm(forms.Form):
    theme = forms.ChoiceField(choices=UserPreference.Theme.choices)
