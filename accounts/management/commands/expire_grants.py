"""Remove the grants whose end has passed, auditing each removal as the system.

Nothing waits for this: the engine treats a grant as absent from its end on, in every process.
Run it now and then (cron, a periodic job) to keep the grant lists tidy.
"""

from django.core.management.base import BaseCommand

from accounts.services import expire_grants


class Command(BaseCommand):
    help = "Remove ended grants (Grant.expires in the past) and audit each removal."

    def handle(self, *args, **options):
        removed = expire_grants()
        for label in removed:
            self.stdout.write(f"removed {label}")
        self.stdout.write(f"{len(removed)} ended grant{'' if len(removed) == 1 else 's'} removed.")
