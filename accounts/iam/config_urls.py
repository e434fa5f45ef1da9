"""URLs of the Configuration page (IAM as code), namespace "iam", under /iam/."""

from django.urls import path

from . import configuration

urlpatterns = [
    path("config/", configuration.configuration, name="config"),
    path("config/export.json", configuration.configuration_export, name="config-export"),
    path("config/schema.json", configuration.configuration_schema, name="config-schema"),
]
