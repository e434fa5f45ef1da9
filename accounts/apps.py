from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Identity and access"

    def ready(self):
        from . import lookups, signals  # noqa: F401  (registers the id lookup and the authorization-stamp receivers)
