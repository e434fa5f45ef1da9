from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ImagesConfig(AppConfig):
    name = "images"
    verbose_name = "Images"

    def ready(self):
        from .search_index import ensure_after_migrate

        post_migrate.connect(ensure_after_migrate, sender=self, dispatch_uid="images-name-search-triggers")
