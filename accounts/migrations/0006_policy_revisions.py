"""Policy history: one row per saved revision of a custom policy.

Existing custom policies get their current revision only, from their current document: what
earlier revisions said was never kept, and the history page says so rather than invent it.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def backfill_current_revisions(apps, schema_editor):
    Policy = apps.get_model("accounts", "Policy")
    PolicyRevision = apps.get_model("accounts", "PolicyRevision")
    PolicyRevision.objects.bulk_create(
        PolicyRevision(policy_id=policy.pk, number=policy.revision, name=policy.name,
                       description=policy.description, document=policy.document,
                       author_name="(before history was kept)")
        for policy in Policy.objects.filter(is_system=False).iterator()
    )


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0005_audit_list_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='PolicyRevision',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveIntegerField()),
                ('name', models.CharField(max_length=128)),
                ('description', models.CharField(blank=True, max_length=512)),
                ('document', models.JSONField()),
                ('author_name', models.CharField(blank=True, max_length=64)),
                ('restored_from', models.PositiveIntegerField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('author', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('policy', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='revisions', to='accounts.policy')),
            ],
            options={
                'ordering': ['policy', '-number'],
                'constraints': [models.UniqueConstraint(fields=('policy', 'number'), name='one_revision_number_per_policy')],
            },
        ),
        migrations.RunPython(backfill_current_revisions, migrations.RunPython.noop),
    ]
