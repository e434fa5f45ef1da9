from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class FederationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "federation"
    verbose_name = gettext_lazy("Federation (identity providers)")
