from django.apps import AppConfig


class PreferencesConfig(AppConfig):
    name = "preferences"
    verbose_name = "Personal preferences"

    def ready(self):
        from . import signals  # noqa: F401  (sign-in loads the preferences into the session)
