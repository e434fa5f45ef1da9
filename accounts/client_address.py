"""The client's address: the one value `g:SourceIp`, sign-in throttling and logs all use.

Behind a reverse proxy every request comes from the proxy, so an `IpAddress` condition would see
the proxy's address (allowing everyone an office-only policy allows) and the sign-in lockout
would lock everybody out at once. `X-Forwarded-For` is believed only from the proxies named in
`IMSPERM_TRUSTED_PROXIES`, and only as far as it goes through them: walking the header from the
nearest hop, the first address that is not a trusted proxy is the client. Anything malformed
falls back to the connection's address, never to a value the client typed.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def _parse(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address, networks) -> bool:
    return any(address in network for network in networks)


def client_address(request) -> str:
    """The address of whoever sent `request` (REMOTE_ADDR unless a trusted proxy forwarded it)."""
    remote = request.META.get("REMOTE_ADDR", "")
    networks = _networks(tuple(getattr(settings, "IMSPERM_TRUSTED_PROXIES", ())))
    connection = _parse(remote)
    if not networks or connection is None or not _trusted(connection, networks):
        return remote
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            return remote
        if not _trusted(address, networks):
            return str(address)
    return str(_parse(hops[0])) if hops else remote
