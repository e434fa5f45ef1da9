"""The system policy IAM AccessRequestSelfService (Allow iam:accessRequests:create): asking for access is
granted like every other action, no longer open to every signed-in person."""

from django.db import migrations

from accounts.system_rows import sync_system_rows


class Migration(migrations.Migration):
    dependencies = [("accounts", "0010_access_requests")]

    operations = [migrations.RunPython(sync_system_rows, migrations.RunPython.noop)]
