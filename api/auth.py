"""Bearer-token authentication and the per-token rate limit of the decision API.

Only a bearer token authenticates: a session cookie is never read, so the API needs no CSRF
check and a signed-in browser cannot be tricked into calling it.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import HttpBearer
from ninja.throttling import BaseThrottle

from .models import ApiToken, token_digest

logger = logging.getLogger("imsperm.api")
LAST_USED_EVERY = timedelta(minutes=1)


class TokenRefused(HttpError):
    """401 with a reason a caller can act on (missing, unknown, revoked)."""

    def __init__(self, message: str):
        super().__init__(401, message)


class TokenAuth(HttpBearer):
    """`Authorization: Bearer imsp_…`: the token's digest is looked up (one indexed query)."""

    def authenticate(self, request, token: str) -> ApiToken | None:
        token = token.strip()
        if not token:
            raise TokenRefused("The Authorization header has no token after Bearer.")
        found = ApiToken.objects.select_related("user").filter(digest=token_digest(token)).first()
        if found is None:
            raise TokenRefused("This token is not known: create one on your API tokens page.")
        if found.revoked_at is not None:
            raise TokenRefused("This token was revoked.")
        if not found.user.is_active:
            raise TokenRefused("This token's user is deactivated.")
        now = timezone.now()
        if found.last_used_at is None or now - found.last_used_at >= LAST_USED_EVERY:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)  # at most once a minute
            found.last_used_at = now
        return found


class TokenRateThrottle(BaseThrottle):
    """At most IMSPERM_API_RATE calls per token in each fixed window, counted with the cache's atomic
    `incr` (Redis when configured: shared by every process). django-ninja answers a refusal with 429
    and Retry-After: the seconds to the next window. Per-call state is thread-local (one instance
    serves every thread); if the cache is down, calls are let through (a limit, not a permission)."""

    def __init__(self):
        self._state = threading.local()

    def allow_request(self, request) -> bool:
        token = getattr(request, "auth", None)
        if token is None:
            return True
        count, period = _parse_rate(settings.IMSPERM_API_RATE)
        now = time.time()
        window = int(now // period)
        key = f"imsperm-api-rate:{token.pk}:{window}"
        try:
            cache.add(key, 0, timeout=period + 1)
            used = cache.incr(key)
        except Exception:  # a cache outage must not stop the API
            logger.warning("API rate limit not counted: the cache is unreachable", exc_info=True)
            return True
        self._state.wait = (window + 1) * period - now
        return used <= count

    def wait(self) -> float | None:
        return getattr(self._state, "wait", None)


def _parse_rate(rate: str) -> tuple[int, int]:
    """"120/m" -> (120, 60): a count per s, m, h or d (django-ninja's own notation)."""
    count, _, unit = rate.partition("/")
    return int(count), {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit.strip()[:1].lower()]
