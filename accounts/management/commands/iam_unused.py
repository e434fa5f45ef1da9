"""Grants and actions unused for N days, with least-privilege documents: the report page as JSON Lines."""

import json

from django.core.management.base import BaseCommand, CommandError

from accounts import least_privilege


class Command(BaseCommand):
    help = "List each grant's actions unused for --days days and the least-privilege document (JSON Lines)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=90)

    def handle(self, *args, days, **options):
        if not 1 <= days <= 3650:
            raise CommandError("--days is a whole number from 1 to 3650.")
        for usage in least_privilege.usage_report(days):
            grant = usage.grant
            self.stdout.write(json.dumps({
                "group": grant.group.name, "policy": grant.policy.name, "grant": grant.pk,
                "scope": grant.scope_label,
                "used": {action: when.isoformat() for action, when in usage.used.items()},
                "unused": [{"action": action, "last_used": when.isoformat() if when else None}
                           for action, when in usage.unused],
                "suggestion": usage.suggestion,
            }))
