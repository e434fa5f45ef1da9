"""The name search's index: SQLite FTS5 trigram tables and triggers, or PostgreSQL pg_trgm (images.search_index)."""

from django.db import migrations


def create(apps, schema_editor):
    from images import search_index

    search_index.create(schema_editor)


def drop(apps, schema_editor):
    from images import search_index

    search_index.drop(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("images", "0002_list_indexes")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
