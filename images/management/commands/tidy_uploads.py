"""Remove what interrupted uploads left in the image folder: partial files, and files no image names.

Nothing waits for this: an image is "active" only with its whole file in place (images/uploads.py),
so a leftover is never served. Run it now and then (cron, a periodic job) to give the space back.
The grace (default an hour) keeps the file of an upload still in flight.
"""

from django.core.management.base import BaseCommand

from images import uploads


class Command(BaseCommand):
    help = "Remove partial upload files and image files no image row names, older than --grace seconds."

    def add_arguments(self, parser):
        parser.add_argument("--grace", type=float, default=3600,
                            help="only files older than this many seconds (default 3600)")

    def handle(self, *args, **options):
        removed = uploads.tidy(options["grace"])
        for name in removed:
            self.stdout.write(f"removed {name}")
        self.stdout.write(f"{len(removed)} leftover file{'' if len(removed) == 1 else 's'} removed.")
