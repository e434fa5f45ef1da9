"""PostgreSQL: the browser's sort indexes end in UPPER(name::text), so a name search walking one tests the
stored value (images.search_index.store_upper_name); SQLite's are unchanged."""

from django.db import migrations


def store(apps, schema_editor):
    from images import search_index

    search_index.store_upper_name(schema_editor)


def forget(apps, schema_editor):
    from images import search_index

    search_index.forget_upper_name(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("images", "0006_translated_labels")]

    operations = [migrations.RunPython(store, forget, elidable=False)]
