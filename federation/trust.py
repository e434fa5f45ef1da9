"""Whether the console trusts a provider's multi-factor authentication (its `amr` claim).

A provider's "Trust the provider's MFA (amr claim)" setting (`IdentityProvider.trust_amr`, off by
default) decides it. When it is on and the verified ID token's `amr` (RFC 8176, a list of strings)
holds one of MFA_AMR_VALUES, the federated session counts as MFA-present for g:MFAPresent, and
g:MFAAge counts from the token's `auth_time` (when the person authenticated at the provider; `iat`
if it has none). Otherwise the console asks for its own second factor, as for any user who has
one, and g:MFAPresent is false until then.

The claims read here are the ID token's only (a userinfo answer never sets them: see
federation.views._verified_claims). The session keeps which provider vouched, for which user and
when; every request asks again that this provider still exists, is active, still trusts amr and
still signs this user in (one query, for such sessions only), so turning the setting off takes the
MFA away from sessions already signed in.
"""

from __future__ import annotations

import math
import time

# RFC 8176 values that by themselves say a factor beyond a password was used: "mfa" (the provider
# says it did multiple factors), a one-time password, proof of possession of a hardware or software
# key (security keys, passkeys, certificates), a smart card, and biometrics. Not counted: pwd, pin,
# kba (knowledge only), sms and tel (open to SIM swap), user, geo, rba, mca, wia (not a second factor).
MFA_AMR_VALUES = frozenset({"mfa", "otp", "hwk", "swk", "sc", "fpt", "face", "iris", "retina", "vbm"})
SESSION_KEY = "imsperm_mfa_by_provider"


def amr_values(claims: dict) -> list[str]:
    """The token's `amr` as a list of strings ([] when absent or not a list of strings)."""
    amr = claims.get("amr")
    if not isinstance(amr, list) or not all(isinstance(value, str) for value in amr):
        return []
    return amr


def provider_did_mfa(claims: dict) -> bool:
    return any(value in MFA_AMR_VALUES for value in amr_values(claims))


def _seconds(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def authenticated_at(claims: dict, now: float | None = None) -> float:
    """When the person authenticated at the provider: `auth_time`, else `iat`, never later than now."""
    now = time.time() if now is None else now
    for key in ("auth_time", "iat"):
        seconds = _seconds(claims.get(key))
        if seconds is not None:
            return min(seconds, now)
    return now


def trusted_mfa_at(provider, claims: dict) -> float | None:
    """When the provider's MFA happened, if the console trusts it for this sign-in; None otherwise."""
    if not provider.trust_amr or not provider_did_mfa(claims):
        return None
    return authenticated_at(claims)


def mark(request, provider, user, at: float) -> None:
    """Record in the (signed-in) session that `provider` vouched for `user`'s MFA at `at`."""
    request.session[SESSION_KEY] = {"provider": provider.pk, "user": user.pk, "at": at}


def forget(request) -> None:
    request.session.pop(SESSION_KEY, None)


def verified_at(request) -> float | None:
    """When the provider this session signed in with did MFA, if the console still trusts it; else None."""
    from .models import FederatedIdentity

    session = getattr(request, "session", None)
    data = session.get(SESSION_KEY) if session is not None else None
    user = getattr(request, "user", None)
    if not isinstance(data, dict) or user is None or not user.is_authenticated or data.get("user") != user.pk:
        return None
    at = _seconds(data.get("at"))
    if at is None:
        return None
    still = FederatedIdentity.objects.filter(user_id=user.pk, provider_id=data.get("provider"),
                                             provider__is_active=True, provider__trust_amr=True).exists()
    return at if still else None
