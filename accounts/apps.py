from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = gettext_lazy("Identity and access")

    def ready(self):
        from . import (
            last_used,  # noqa: F401  (writes last-used notes after each response)
            lookups,  # noqa: F401  (registers the id lookup)
            signals,  # noqa: F401  (registers the authorization-stamp receivers)
            signin,  # noqa: F401  (registers the sign-in lockout audit receiver)
        )
