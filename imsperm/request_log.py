"""One JSON line per request: who asked what, the answer's status and how long it took."""

import json
import logging
import time

logger = logging.getLogger("imsperm.requests")


class RequestLogMiddleware:
    """Logs every request on `imsperm.requests` (first in MIDDLEWARE, so the time is the whole answer)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        if logger.isEnabledFor(logging.INFO):
            user = getattr(request, "user", None)
            logger.info(json.dumps({
                "event": "request",
                "user": user.get_username() if user is not None and user.is_authenticated else None,
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            }))
        return response
