"""Remove the grants whose end has passed, auditing each removal as the system.

Nothing waits for this: the engine treats a grant as absent from its end on, in every process.
Run it now and then to keep the grant lists tidy: from cron, or as a process of its own with
`--every SECONDS` (one JSON line per run on standard output; a database that is down or busy is
logged and tried again at the next run; SIGTERM or Ctrl-C ends it between runs).
"""

import argparse
import json
import signal
import threading
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections

from accounts.services import expire_grants
from accounts.services.access_requests import expire_requests


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number of seconds is needed, not {text!r}") from None
    if not seconds > 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"a positive number of seconds is needed, not {text!r}")
    return seconds


def _positive_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a whole number of runs (1 or more) is needed, not {text!r}")
    return int(text)


class Command(BaseCommand):
    help = ("Remove ended grants (Grant.expires in the past) and expire access requests nobody decided in time; "
            "audit each. With --every SECONDS, again and again until stopped.")

    def add_arguments(self, parser):
        parser.add_argument("--every", type=_positive_seconds, metavar="SECONDS",
                            help="run periodically, this many seconds apart, until stopped (one JSON line per run)")
        parser.add_argument("--runs", type=_positive_count, metavar="N",
                            help="with --every: stop after N runs (default: run until stopped)")

    def handle(self, *args, every=None, runs=None, **options):
        if every is None:
            if runs is not None:
                raise CommandError("--runs goes with --every.")
            self._once()
            return
        self._periodically(every, runs)

    def _once(self) -> None:
        removed = expire_grants()
        for label in removed:
            self.stdout.write(f"removed {label}")
        self.stdout.write(f"{len(removed)} ended grant{'' if len(removed) == 1 else 's'} removed.")
        lapsed = expire_requests()
        for label in lapsed:
            self.stdout.write(f"expired access request {label}")
        self.stdout.write(f"{len(lapsed)} undecided access request{'' if len(lapsed) == 1 else 's'} expired.")

    def _periodically(self, every: float, runs: int | None) -> None:
        """Run every `every` seconds (after the previous run ended) until stopped or `runs` are done."""
        stop = threading.Event()
        previous = self._on_termination(stop)
        try:
            done = 0
            while not stop.is_set():
                self.stdout.write(json.dumps(self._run()))
                self.stdout.flush()
                done += 1
                if runs is not None and done >= runs:
                    break
                stop.wait(every)
        except KeyboardInterrupt:
            pass
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    def _run(self) -> dict:
        """One run, as its log line: what was removed and expired, or why nothing could be."""
        started = time.monotonic()
        line = {"event": "expire_grants"}
        try:
            removed = expire_grants()
            lapsed = expire_requests()
        except DatabaseError as error:  # down, busy or not migrated yet: try again at the next run
            for connection in connections.all():  # the next run connects afresh (never inside a caller's transaction)
                if not connection.in_atomic_block:
                    connection.close()
            reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
            line.update(status="error", error=f"{type(error).__name__}: {reason}")
        else:
            line.update(status="ok", removed_grants=removed, expired_requests=lapsed)
        line["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
        return line

    @staticmethod
    def _on_termination(stop: threading.Event):
        """SIGTERM ends the loop between runs (a run in progress finishes); the previous handler is returned."""
        if threading.current_thread() is not threading.main_thread():
            return None
        return signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
