"""Apply an IAM configuration file: show the plan, then make the account match it in one transaction."""

import sys

from django.core.management.base import BaseCommand, CommandError

from accounts import iac
from accounts.models import User

EXIT_REFUSED = 2
SIGNS = {"create": "+", "change": "~", "remove": "-"}


class Command(BaseCommand):
    help = ("Plan and apply an IAM configuration file (from iam_export). Prints the plan; without "
            "--dry-run applies it in one transaction through the same services as the console. "
            "Errors name the place in the file (a JSON path) and change nothing (exit status 2).")

    def add_arguments(self, parser):
        parser.add_argument("file", help="the configuration file ('-' for standard input)")
        parser.add_argument("--dry-run", action="store_true", help="print the plan only")
        parser.add_argument("--prune", action="store_true",
                            help="also remove users, groups, custom policies, members and grants not in the file")
        parser.add_argument("--actor", help="apply as this user: their permissions and the no-escalation rule "
                                            "decide (default: the system itself, e.g. to restore an empty database)")

    def handle(self, *args, file, dry_run=False, prune=False, actor=None, **options):
        text = sys.stdin.read() if file == "-" else self._read(file)
        actor_user = None
        if actor:
            actor_user = User.objects.filter(username=actor).first()
            if actor_user is None:
                raise CommandError(f"No user named {actor!r}.")
        try:
            configuration = iac.parse_text(text)
        except iac.DocumentError as error:
            return self._fail(error.errors)
        plan = iac.trial_plan(configuration, actor=actor_user, prune=prune)
        self._print_plan(plan)
        if plan.errors:
            return self._fail(plan.errors)
        if dry_run or plan.is_noop:
            return
        try:
            result = iac.apply_configuration(configuration, actor=actor_user, prune=prune,
                                             expected_config_hash=plan.config_hash, source=file)
        except iac.StaleConfiguration:
            raise CommandError("The configuration changed while planning: run the command again.") from None
        except iac.DocumentError as error:
            return self._fail(error.errors)
        self.stdout.write(self.style.SUCCESS(f"Applied (import {result.import_id})."))
        if result.created_users:
            self.stdout.write(f"{len(result.created_users)} user(s) created without a password (the file holds "
                              f"none): set them in the console, or with manage.py changepassword USERNAME.")

    def _read(self, path):
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}.") from None
        except UnicodeDecodeError:
            raise CommandError(f"{path} is not UTF-8 text.") from None

    def _print_plan(self, plan):
        """The plan as the console shows it: counts, the changes by section, the effective permissions that
        change, then the warnings."""
        if plan.is_noop and not plan.errors:
            self.stdout.write("No changes: the account already matches the file.")
        counts = plan.counts()
        if not plan.is_noop:
            self.stdout.write(f"Plan: {counts['create']} to create, {counts['change']} to change, "
                              f"{counts['remove']} to remove.")
        for title, changes in plan.sections():
            self.stdout.write(f"\n{title}")
            for change in changes:
                self._print_change(change)
        self._print_effects(plan)
        for path, message in plan.warnings:
            self.stdout.write(self.style.WARNING(f"warning: {path}: {message}"))

    def _print_change(self, change):
        """One change: its sign and subject, where in the file, its note, and what it was and becomes."""
        line = f"  {SIGNS[change.kind]} {change.subject}"
        if change.path:
            line += f"  ({change.path})"
        self.stdout.write(line)
        if change.note:
            self.stdout.write(f"      {change.note}")
        for label, value in (("before", change.before), ("after", change.after)):
            if value:
                self.stdout.write(f"      {label}: " + value.replace("\n", "\n        "))

    def _print_effects(self, plan):
        """The users whose effective permissions change, each decision before and after."""
        if plan.effects:
            self.stdout.write("\nEffective permissions that change")
            for effect in plan.effects:
                self.stdout.write(f"  {effect.username}")
                if not effect.cells:
                    self.stdout.write("      (a user created or removed who holds nothing)")
                for before, after, actions, wheres in effect.lines():
                    self.stdout.write(f"      {before} -> {after}: {', '.join(actions)} in {', '.join(wheres)}")
        if plan.effects_omitted:
            self.stdout.write(f"  ... and {plan.effects_omitted} more users whose groups change (not compared)")

    def _fail(self, errors):
        for path, message in errors:
            self.stderr.write(f"error: {path}: {message}")
        self.stderr.write("Nothing was changed.")
        sys.exit(EXIT_REFUSED)
