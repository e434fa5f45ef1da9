"""Remove the grants whose end has passed, auditing each removal as the system.

Nothing waits for this: the engine treats a grant as absent from its end on, in every process.
Run it now and then (cron, a periodic job) to keep the grant lists tidy.
"""

from django.core.management.base import BaseCommand

from accounts.services import expire_grants
from accounts.services.access_requests import expire_requests


class Command(BaseCommand):
    help = ("Remove ended grants (Grant.expires in the past) and expire access requests nobody decided in time; "
            "audit each.")

    def handle(self, *args, **options):
        removed = expire_grants()
        for label in removed:
            self.stdout.write(f"removed {label}")
        self.stdout.write(f"{len(removed)} ended grant{'' if len(removed) == 1 else 's'} removed.")
        lapsed = expire_requests()
        for label in lapsed:
            self.stdout.write(f"expired access request {label}")
        self.stdout.write(f"{len(lapsed)} undecided access request{'' if len(lapsed) == 1 else 's'} expired.")
