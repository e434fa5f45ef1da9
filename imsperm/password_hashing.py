"""Password hashing off the request threads, at a lower CPU priority (issue 23, "Short tails under load").

PBKDF2 is slow on purpose (Django's 1.5 million rounds: about a third of a second of CPU). hashlib
releases the GIL while it hashes, so a gthread worker (imsperm/gunicorn.conf.py) goes on answering
pages on its other threads — but on a busy host the hashing still takes whole cores from them. Here
each process hashes on one thread of its own whose nice value is raised (Linux lets a thread lower
its own priority), so the pages of people already signed in are served first and sign-ins take
what CPU is left. The hash itself is Django's PBKDF2PasswordHasher's, unchanged (same algorithm name,
same encoded form): stored passwords verify as before, and a test checks the two agree.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from django.contrib.auth import hashers

# How much lower the hashing thread runs (IMSPERM_HASHING_NICENESS, 0 to 19): at nice 10 it gets
# about a tenth of what a request thread at nice 0 gets of a busy core, and a whole idle core when
# nobody competes. Higher: pages first even on a crowded host, sign-ins slower there.
NICENESS = int(os.environ.get("IMSPERM_HASHING_NICENESS", "10"))
# The hashing thread's name as the system shows it (top -H, /proc/PID/task/TID/comm; at most 15
# characters): `make loadtest` counts the CPU sign-ins' hashing took apart from the pages' by it.
THREAD_NAME = "password-hash"

_pool: ThreadPoolExecutor | None = None
_pool_pid: int | None = None
_lock = threading.Lock()


def _prepare_thread() -> None:
    """Run by the hashing thread itself: raise its own nice value and name it for the system (each a
    no-op where not supported)."""
    thread = threading.get_native_id()
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, thread, NICENESS)
    with contextlib.suppress(OSError), open(f"/proc/self/task/{thread}/comm", "w") as name:
        name.write(THREAD_NAME)


def hashing_pool() -> ThreadPoolExecutor:
    """This process's hashing thread (made on first use, again after a fork: threads do not survive one)."""
    global _pool, _pool_pid
    with _lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="password-hashing",
                                       initializer=_prepare_thread)
            _pool_pid = os.getpid()
        return _pool


class PBKDF2PasswordHasher(hashers.PBKDF2PasswordHasher):
    """Django's PBKDF2 (SHA-256), computed on the process's low-priority hashing thread."""

    def encode(self, password, salt, iterations=None):
        return hashing_pool().submit(super().encode, password, salt, iterations).result()
