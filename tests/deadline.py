"""Fail a test that runs too long instead of letting it hang the suite (Unix, main thread)."""

import signal
from contextlib import contextmanager


class DeadlineExceeded(AssertionError):
    pass


@contextmanager
def deadline(seconds: float, what: str = "this"):
    """Raise DeadlineExceeded if the block takes longer than `seconds` of wall-clock time.

    A catastrophic regex is interrupted too: the regex engine checks for signals as it runs.
    """

    def expire(signum, frame):
        raise DeadlineExceeded(f"{what} took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
