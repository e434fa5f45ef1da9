"""Bearer-token authentication and the rate limits of the decision API: per user, and per client
address for failed authentications.

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
from ninja.errors import HttpError, Throttled
from ninja.security import HttpBearer
from ninja.throttling import BaseThrottle

from accounts.client_address import client_address

from .models import ApiToken, token_digest

logger = logging.getLogger("imsperm.api")
LAST_USED_EVERY = timedelta(minutes=1)
# Failed authentications a client address may make (no token, unknown, revoked): a service with a
# stale token finds out long before; a guesser is slowed to this pace. IMSPERM_API_FAILED_AUTH_RATE.
DEFAULT_FAILED_AUTH_RATE = "30/m"


class TokenRefused(HttpError):
    """401 with a reason a caller can act on (missing, unknown, revoked)."""

    def __init__(self, message: str):
        super().__init__(401, message)


class TokenAuth(HttpBearer):
    """`Authorization: Bearer imsp_…`: the token's digest is looked up (one indexed query).

    Failed authentications (no token, an unknown, revoked or deactivated one) are counted per client
    address (accounts.client_address): past IMSPERM_API_FAILED_AUTH_RATE in a sliding window, every
    call from that address answers 429 with Retry-After before any token is looked up."""

    def __call__(self, request):
        address = client_address(request)
        wait = FAILED_AUTHENTICATIONS.exceeded(address, _failed_auth_rate())
        if wait is not None:
            raise Throttled(wait)
        try:
            found = super().__call__(request)
        except TokenRefused:
            FAILED_AUTHENTICATIONS.add(address, _failed_auth_rate())
            raise
        if found is None:  # no bearer token at all
            FAILED_AUTHENTICATIONS.add(address, _failed_auth_rate())
        return found

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


class SlidingWindow:
    """A sliding-window limit over the cache's atomic counters (Redis when configured, so every process
    shares it): each key counts calls in fixed windows, and a call is weighed against this window's count
    plus the previous window's scaled by how much of it still lies within the last period — so no burst
    passes twice the limit across a window boundary, as fixed windows let it. If the cache is down,
    calls are let through (a limit, not a permission)."""

    def __init__(self, prefix: str):
        self.prefix = prefix

    def _counts(self, key: str, period: int, now: float) -> tuple[str, int, int, float]:
        window = int(now // period)
        current = f"{self.prefix}:{key}:{window}"
        counts = cache.get_many([current, f"{self.prefix}:{key}:{window - 1}"])
        return current, counts.get(current, 0), counts.get(f"{self.prefix}:{key}:{window - 1}", 0), \
            (now % period) / period

    @staticmethod
    def _wait(limit: int, period: int, used: int, previous: int, elapsed: float) -> float:
        """Seconds until one more call fits: later in this window as the previous one fades, or in the next."""
        if used + 1 <= limit and previous:
            fraction = 1 - (limit - used - 1) / previous
            if fraction <= 1:
                return max(0.0, (fraction - elapsed) * period)
        return (1 - elapsed) * period + max(0.0, 1 - (limit - 1) / max(used, 1)) * period

    def take(self, key: str, rate: str, now: float | None = None) -> float | None:
        """Count one call for `key`; None if it fits in `rate`, else the seconds to wait (and it is not
        counted: the limit is on the calls answered)."""
        limit, period = _parse_rate(rate)
        now = time.time() if now is None else now
        try:
            current, _, previous, elapsed = self._counts(key, period, now)
            cache.add(current, 0, timeout=2 * period + 1)
            used = cache.incr(current)
            if previous * (1 - elapsed) + used <= limit:
                return None
            cache.decr(current)
        except Exception:  # a cache outage must not stop the API
            logger.warning("API rate limit not counted: the cache is unreachable", exc_info=True)
            return None
        return self._wait(limit, period, used - 1, previous, elapsed)

    def exceeded(self, key: str, rate: str, now: float | None = None) -> float | None:
        """None while one more event for `key` fits in `rate`, else the seconds to wait (nothing counted)."""
        limit, period = _parse_rate(rate)
        now = time.time() if now is None else now
        try:
            _, used, previous, elapsed = self._counts(key, period, now)
        except Exception:
            logger.warning("API rate limit not read: the cache is unreachable", exc_info=True)
            return None
        if previous * (1 - elapsed) + used + 1 <= limit:
            return None
        return self._wait(limit, period, used, previous, elapsed)

    def add(self, key: str, rate: str, now: float | None = None) -> None:
        _, period = _parse_rate(rate)
        now = time.time() if now is None else now
        current = f"{self.prefix}:{key}:{int(now // period)}"
        try:
            cache.add(current, 0, timeout=2 * period + 1)
            cache.incr(current)
        except Exception:
            logger.warning("API failed authentication not counted: the cache is unreachable", exc_info=True)


CALLS = SlidingWindow("imsperm-api-rate:user")
FAILED_AUTHENTICATIONS = SlidingWindow("imsperm-api-auth-failed")


def _failed_auth_rate() -> str:
    return getattr(settings, "IMSPERM_API_FAILED_AUTH_RATE", DEFAULT_FAILED_AUTH_RATE)


class UserRateThrottle(BaseThrottle):
    """At most IMSPERM_API_RATE calls per user — all of the user's tokens together — in any sliding
    window (SlidingWindow). django-ninja answers a refusal with 429 and Retry-After. Per-call state is
    thread-local (one instance serves every thread)."""

    def __init__(self):
        self._state = threading.local()

    def allow_request(self, request) -> bool:
        token = getattr(request, "auth", None)
        if token is None:
            return True
        self._state.wait = CALLS.take(str(token.user_id), settings.IMSPERM_API_RATE, time.time())
        return self._state.wait is None

    def wait(self) -> float | None:
        wait = getattr(self._state, "wait", None)
        return None if wait is None else max(1.0, wait)


def _parse_rate(rate: str) -> tuple[int, int]:
    """"120/m" -> (120, 60): a count per s, m, h or d (django-ninja's own notation)."""
    count, _, unit = rate.partition("/")
    return int(count), {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit.strip()[:1].lower()]
