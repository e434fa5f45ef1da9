from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0008_edit_revisions"),
    ]

    operations = [
        migrations.AddField(
            model_name="grant",
            name="expires",
            field=models.DateTimeField(blank=True, db_index=True, null=True),
        ),
    ]
