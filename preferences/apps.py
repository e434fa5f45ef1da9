from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class PreferencesConfig(AppConfig):
    name = "preferences"
    verbose_name = gettext_lazy("Personal preferences")

    def ready(self):
        from . import signals  # noqa: F401  (sign-in loads the preferences into the session)
