import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import preferences.models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("accounts", "0009_grant_expires"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="UserPreference",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("time_zone", models.CharField(blank=True, max_length=64,
                                               validators=[preferences.models.validate_time_zone])),
                ("theme", models.CharField(choices=[("auto", "Auto (follow the device)"), ("light", "Light"),
                                                    ("dark", "Dark")], default="auto", max_length=5)),
                ("language", models.CharField(blank=True, max_length=16)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("last_project", models.ForeignKey(blank=True, null=True,
                                                   on_delete=django.db.models.deletion.SET_NULL,
                                                   related_name="+", to="accounts.project")),
                ("user", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE,
                                              related_name="preference", to=settings.AUTH_USER_MODEL)),
            ],
        ),
    ]
