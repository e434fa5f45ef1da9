"""Export the IAM configuration (regions, projects, users, groups, custom policies, grants) as one file."""

from django.core.management.base import BaseCommand

from accounts import iac


class Command(BaseCommand):
    help = ("Write the IAM configuration as one canonical JSON document (users without passwords): "
            "stable order and format, for version control and for iam_apply.")

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="write to this file instead of standard output")

    def handle(self, *args, output=None, **options):
        text = iac.export_text()
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
            self.stderr.write(f"Wrote {output} (sha256 {iac.digest(text)[:12]}).")
        else:
            self.stdout.write(text, ending="")
