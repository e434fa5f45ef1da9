"""GET /healthz: is this server fit to take requests? For the proxy or the orchestrator."""

import tempfile
import time
from pathlib import Path

from django.core.cache import cache
from django.core.files.storage import default_storage
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


def _storage() -> str:
    """Whether the upload folder takes a file now: one empty file created and removed (root ignores
    permission bits, so only a write tells; a full disk or a folder gone shows the same way)."""
    try:
        folder = Path(default_storage.path("images"))
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".healthz-"):
            pass
    except OSError as error:
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
    """200 while the database answers (`degraded` when only Redis or the upload folder is down: the
    console stays correct on the database alone, and a shared folder that refuses files stops only
    uploads, so neither must take every server out of the proxy); 503 when the database does not.
    Each part says "ok" or "down: <why>"."""
    started = time.perf_counter()
    database, shared_cache, storage = _database(), _cache(), _storage()
    if database != "ok":
        status, code = "down", 503
    elif shared_cache == "down" or storage != "ok":
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return JsonResponse({"status": status, "database": database, "cache": shared_cache, "storage": storage,
                         "duration_ms": round((time.perf_counter() - started) * 1000, 1)}, status=code)
