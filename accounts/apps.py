from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Identity and access"

    def ready(self):
        from . import (
            last_used,  # noqa: F401  (writes last-used notes after each response)
            lookups,  # noqa: F401  (registers the id lookup)
            signals,  # noqa: F401  (registers the authorization-stamp receivers)
            signin,  # noqa: F401  (registers the sign-in lockout audit receiver)
        )
