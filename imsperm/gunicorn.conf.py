"""gunicorn settings for `make serve` (gunicorn -c imsperm/gunicorn.conf.py imsperm.wsgi).

Workers: WEB_CONCURRENCY, else 2 × cores + 1 (gunicorn's own advice for sync workers, which
suit a console whose time goes to the database). Bind: GUNICORN_BIND, else 127.0.0.1:8000. The
console logs each request itself as JSON (imsperm.requests), so gunicorn's access log stays off.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
max_requests = 5000  # recycle workers now and then, spread out so they never restart together
max_requests_jitter = 500
accesslog = None
errorlog = "-"
control_socket_disable = True  # unused, and two servers on one host would share its path
