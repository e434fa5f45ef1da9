"""Create the built-in admin group and the system roles and policies (SPEC section 4)."""

from django.db import migrations

from accounts.system_rows import sync_system_rows


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(sync_system_rows, migrations.RunPython.noop)]
