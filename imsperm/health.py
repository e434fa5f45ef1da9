"""GET /healthz: is this server fit to take requests? For the proxy or the orchestrator."""

import time

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.permissions import public_view


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any failure means this server cannot answer correctly
        return f"down: {type(error).__name__}"
    return "ok"


def _cache() -> str:
    ping = getattr(cache, "ping", None)
    if ping is None:
        return "local"  # per-process memory (no REDIS_URL): nothing shared to check
    return "ok" if ping() else "down"


@public_view
@never_cache
@require_GET
def healthz(request):
    """200 while the database answers (`degraded` when only Redis is down: the console stays correct
    on the database alone, so a cache outage must not take every server out of the proxy); 503 when
    the database does not."""
    started = time.perf_counter()
    database, shared_cache = _database(), _cache()
    if database != "ok":
        status, code = "down", 503
    elif shared_cache == "down":
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return JsonResponse({"status": status, "database": database, "cache": shared_cache,
                         "duration_ms": round((time.perf_counter() - started) * 1000, 1)}, status=code)
