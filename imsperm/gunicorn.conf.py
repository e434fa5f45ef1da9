"""gunicorn settings for `make serve` (gunicorn -c imsperm/gunicorn.conf.py imsperm.wsgi).

Workers: WEB_CONCURRENCY, else 2 × cores + 1; each with GUNICORN_THREADS threads (default 8, gthread).
Threads, because signing in hashes the password for about a third of a second of CPU: in a sync
worker every page queued behind it waited as long, while a gthread worker answers pages on its other
threads as the hash runs on its own low-priority thread (imsperm/password_hashing.py; hashlib releases
the GIL). Measured under `make loadtest` in README, "Load, and sizing on paper". A worker accepts a
connection only when one of its threads is free (worker_connections = threads, no keep-alive: the
proxy opens a connection per request, as it did to sync workers), so the kernel hands the next
request to a worker that can start it now rather than to one busy hashing. Each thread keeps its own
database connection: workers × threads per server (README says when to add PgBouncer).
Bind: GUNICORN_BIND, else 127.0.0.1:8000. The console logs each request itself as JSON
(imsperm.requests), so gunicorn's access log stays off.
Preloaded: the master loads the console and what its pages' first requests would load (every view
module, the templates, both languages' catalogues; `when_ready`) once, before it forks the workers,
which then start warm, at a fork's cost, each time one is started or replaced (max_requests); without
it each worker spent about 0.9 s of CPU loading Django and 0.7 s more on its first request, and its
first page of each kind compiled that page's templates while people waited (issue 23).
"""

import multiprocessing
import os
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
worker_connections = threads
keepalive = 0
preload_app = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
max_requests = 5000  # recycle workers now and then, spread out so they never restart together
max_requests_jitter = 500
accesslog = None
errorlog = "-"
control_socket_disable = True  # unused, and two servers on one host would share its path


def when_ready(server):
    """In the master, after preloading and before forking: load what each worker would otherwise load
    on its first requests. Opens no database connection a worker would inherit (closes any)."""
    from django.conf import settings
    from django.db import connections
    from django.template import engines
    from django.urls import get_resolver, reverse
    from django.utils import translation

    get_resolver().url_patterns  # noqa: B018 (imports every view module)
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            reverse("home")  # the catalogue and the URL names, per language
    for engine in engines.all():
        for folder in map(Path, engine.dirs):  # the console's own templates (each loads what it extends)
            for path in sorted(folder.rglob("*.html")):
                engine.get_template(path.relative_to(folder).as_posix())
    connections.close_all()
