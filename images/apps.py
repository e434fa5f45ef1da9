from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy


class ImagesConfig(AppConfig):
    name = "images"
    verbose_name = gettext_lazy("Images")

    def ready(self):
        from accounts.iam import simulator

        from .search_index import ensure_after_migrate
        from .selectors import simulator_images

        if simulator_images not in simulator.IMAGE_SOURCES:
            simulator.IMAGE_SOURCES.append(simulator_images)

        post_migrate.connect(ensure_after_migrate, sender=self, dispatch_uid="images-name-search-triggers")
