"""The OpenID Connect protocol, through Authlib's Django client (never hand-written JWT checks).

`ProviderClient` is Authlib's `DjangoOAuth2App` built from a provider row instead of settings:
PKCE (S256), `state` and `nonce` kept in the session, the code exchanged at the token endpoint,
and the ID token verified by Authlib with joserfc against the provider's JWKS: signature,
issuer, audience, expiry, nonce, at_hash. Two things are added here, before Authlib uses the
discovery document: its `issuer` must be exactly the configured one (OpenID Connect Discovery
4.3), and only asymmetric signature algorithms are accepted (never `none`, never HS256 keyed by
the client secret).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.django_client import DjangoIntegration, DjangoOAuth2App
from django.utils.translation import gettext, ngettext
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from accounts.policy.messages import Message, gettext_noop

TIMEOUT_SECONDS = 5
# Discovery documents (with their JWKS) are kept this long per process: two fewer requests to the
# provider per sign-in. The issuer is checked against the provider's settings at every use.
METADATA_SECONDS = 300
_DISCOVERED: dict[str, tuple[float, dict]] = {}
SAFE_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class ProviderConfigurationError(Exception):
    """The provider's discovery document is unusable (wrong issuer, no safe algorithm)."""


def _same_issuer(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


class ProviderClient(DjangoOAuth2App):
    def __init__(self, provider):
        name = f"idp{provider.pk}"
        super().__init__(
            DjangoIntegration(name), name,
            client_id=provider.client_id, client_secret=provider.client_secret or None,
            server_metadata_url=provider.discovery_url,
            client_kwargs={"scope": provider.scopes, "code_challenge_method": "S256",
                           "default_timeout": TIMEOUT_SECONDS,
                           # A public client (no secret) proves itself by PKCE alone.
                           "token_endpoint_auth_method": "client_secret_basic" if provider.client_secret else "none"},
        )
        self.provider = provider

    def load_server_metadata(self):
        url = self._server_metadata_url
        if "_loaded_at" not in self.server_metadata:
            cached = _DISCOVERED.get(url)
            if cached is not None and time.monotonic() - cached[0] < METADATA_SECONDS:
                self.server_metadata.update(copy.deepcopy(cached[1]))
        metadata = super().load_server_metadata()
        if url not in _DISCOVERED or _DISCOVERED[url][1].get("_loaded_at") != metadata.get("_loaded_at"):
            _DISCOVERED[url] = (time.monotonic(), copy.deepcopy(metadata))
        issuer = metadata.get("issuer", "")
        if not _same_issuer(issuer, self.provider.issuer):
            raise ProviderConfigurationError(Message(
                gettext_noop("the discovery document names the issuer %(issuer)s, not %(configured)s"),
                issuer=_cut(repr(issuer)), configured=repr(self.provider.issuer)))
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        safe = [alg for alg in offered if alg in SAFE_ALGORITHMS]
        if not safe:
            raise ProviderConfigurationError(Message(
                gettext_noop("no safe ID token signature algorithm offered (%(offered)s)"),
                offered=_cut(", ".join(map(str, offered)))))
        metadata["id_token_signing_alg_values_supported"] = safe
        return metadata

    def fetch_jwk_set(self, force=False):
        """The JWKS, kept with the discovery document; fetched again when a token names a key it lacks
        (Authlib asks with force=True: the provider rotated its keys)."""
        jwks = super().fetch_jwk_set(force=force)
        cached = _DISCOVERED.get(self._server_metadata_url)
        if cached is not None:
            cached[1]["jwks"] = copy.deepcopy(jwks)
        return jwks


# Errors of a sign-in that are the provider's or an attacker's doing, never the console's bug.
PROTOCOL_ERRORS = (OAuthError, JoseError, ProviderConfigurationError, requests.RequestException, ValueError)


def describe_error(error: Exception) -> Message:
    """What failed, in words an administrator can act on (no token or secret in it): English as a str (the
    audit log's), in the person's language through accounts.findings.localized (the refusal page's)."""
    name = type(error).__name__
    if name == "MismatchingStateError":
        return Message(gettext_noop("the state parameter does not match a sign-in started in this browser (expired, "
                                    "replayed or forged)"))
    if isinstance(error, OAuthError):
        text = error.error or name
        if error.description:
            text += f": {error.description}"
        return Message(gettext_noop("the provider refused: %(error)s"), error=_cut(text))
    token = _describe_token_error(name, error)
    if token:
        return token
    if isinstance(error, ProviderConfigurationError):
        reason = error.args[0] if error.args else ""
        return reason if isinstance(reason, Message) else Message("%(error)s", error=_cut(str(reason)))
    if isinstance(error, requests.RequestException):
        return Message(gettext_noop("the provider could not be reached: %(error)s"), error=name)
    return Message(gettext_noop("%(name)s: %(error)s"), name=name, error=_cut(str(error)))


def _cut(text: str, length: int = 250) -> str:
    """A provider's or library's own words, kept short (a refusal reason is read, and audited)."""
    return text if len(text) <= length else text[: length - 1] + "…"


def _describe_token_error(name: str, error: Exception) -> Message | None:
    """Which check of the ID token failed, as joserfc names it (None: not an ID token's error)."""
    if name == "ExpiredTokenError":
        return Message(gettext_noop("the ID token has expired"))
    if name in ("InvalidClaimError", "MissingClaimError"):
        return _describe_claim_error(name, error)
    if name == "BadSignatureError":
        return Message(gettext_noop("the ID token's signature does not verify with the provider's keys (JWKS)"))
    if name in ("InvalidKeyIdError", "MissingKeyError"):
        return Message(gettext_noop("the ID token is signed with a key the provider's JWKS does not hold"))
    if name in ("UnsupportedAlgorithmError", "MissingAlgorithmError"):
        return Message(gettext_noop("the ID token's signature algorithm is not accepted (%(error)s)"),
                       error=_cut(str(error)))
    if isinstance(error, JoseError):
        return Message(gettext_noop("the ID token is not valid: %(name)s %(error)s"), name=name, error=_cut(str(error)))
    return None


def _describe_claim_error(name: str, error: Exception) -> Message:
    """A claim missing or not valid; a wrong audience says the token is another client's."""
    claim = getattr(error, "claim", "") or str(error)
    if claim in ("aud", "azp"):
        return Message(gettext_noop("the ID token was issued for another client, not this console (%(claim)s)"),
                       claim=claim)
    if name == "InvalidClaimError":
        return Message(gettext_noop("the ID token's %(claim)s claim is not valid"), claim=_cut(claim))
    return Message(gettext_noop("the ID token has no %(claim)s claim"), claim=_cut(claim))


@dataclass(frozen=True)
class Finding:
    ok: bool
    text: str
    warning: bool = False


def test_connection(provider) -> list[Finding]:
    """Fetch the discovery document and the JWKS; say what was found, or exactly what failed (and forget
    what sign-ins kept of them)."""
    url = provider.discovery_url
    _DISCOVERED.pop(url, None)  # the next sign-in reads the provider afresh too
    metadata, failure = _fetch_discovery(url)
    if failure is not None:
        return [failure]
    found = [Finding(True, gettext("Discovery document read from %(url)s.") % {"url": url}),
             *_endpoint_findings(provider, metadata), *_security_findings(provider, metadata)]
    jwks_uri = metadata.get("jwks_uri")
    if jwks_uri:
        found.extend(_jwks_findings(jwks_uri))
    return found


def _fetch_discovery(url: str) -> tuple[dict, None] | tuple[None, Finding]:
    """The discovery document as a JSON object, or the one finding that says why there is none."""
    try:
        response = requests.get(url, timeout=TIMEOUT_SECONDS, headers={"Accept": "application/json"})
    except requests.RequestException as error:
        return None, Finding(False, gettext("Could not fetch %(url)s: %(error)s") % {
            "url": url, "error": _cut(f"{type(error).__name__} ({error})")})
    if response.status_code != 200:
        return None, Finding(False, gettext("%(url)s answered HTTP %(status)s, not 200.") % {
            "url": url, "status": response.status_code})
    try:
        metadata = response.json()
    except ValueError:
        return None, Finding(False, gettext("%(url)s did not answer JSON.") % {"url": url})
    if not isinstance(metadata, dict):
        return None, Finding(False, gettext("%(url)s answered JSON that is not an object.") % {"url": url})
    return metadata, None


def _endpoint_findings(provider, metadata: dict) -> list[Finding]:
    """The issuer (exactly the configured one, or sign-ins are refused) and the endpoints a sign-in uses."""
    found = []
    issuer = metadata.get("issuer")
    if not _same_issuer(str(issuer or ""), provider.issuer):
        found.append(Finding(False, gettext("It names the issuer %(issuer)s, not the configured %(configured)s: "
                                            "sign-ins would be refused.") % {
            "issuer": _cut(repr(issuer)), "configured": repr(provider.issuer)}))
    else:
        found.append(Finding(True, gettext("Issuer %(issuer)s matches.") % {"issuer": issuer}))
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if metadata.get(key):
            found.append(Finding(True, f"{key}: {metadata[key]}"))
        else:
            found.append(Finding(False, gettext("It has no %(key)s.") % {"key": key}))
    if metadata.get("userinfo_endpoint"):
        found.append(Finding(True, f"userinfo_endpoint: {metadata['userinfo_endpoint']}"))
    else:
        found.append(Finding(True, gettext("It has no userinfo_endpoint: claims come from the ID token only."),
                             warning=True))
    return found


def _security_findings(provider, metadata: dict) -> list[Finding]:
    """PKCE S256, an accepted (asymmetric) ID token algorithm, and the configured scopes the provider lists."""
    found = []
    methods = metadata.get("code_challenge_methods_supported")
    if methods is not None and "S256" not in methods:
        found.append(Finding(False, gettext("It does not list PKCE S256 in code_challenge_methods_supported.")))
    algs = metadata.get("id_token_signing_alg_values_supported") or []
    safe = [alg for alg in algs if alg in SAFE_ALGORITHMS]
    if safe:
        found.append(Finding(True, gettext("ID token algorithms accepted: %(algorithms)s.") % {
            "algorithms": ", ".join(safe)}))
    elif algs:
        found.append(Finding(False, gettext("No accepted ID token algorithm among %(algorithms)s.") % {
            "algorithms": _cut(str(algs))}))
    else:
        found.append(Finding(False, gettext("No accepted ID token algorithm: the provider lists none.")))
    supported = metadata.get("scopes_supported")
    missing = [scope for scope in provider.scope_list if scope not in supported] if supported else []
    if missing:
        found.append(Finding(True, gettext("Scopes not listed by the provider: %(scopes)s.") % {
            "scopes": ", ".join(missing)}, warning=True))
    return found


def _jwks_findings(jwks_uri: str) -> list[Finding]:
    """The JWKS fetched and read as a key set: its keys, or why no ID token could be verified with it."""
    try:
        jwks = requests.get(jwks_uri, timeout=TIMEOUT_SECONDS).json()
        keys = KeySet.import_key_set(jwks)
    except requests.RequestException as error:
        return [Finding(False, gettext("Could not fetch the JWKS %(url)s: %(error)s.") % {
            "url": jwks_uri, "error": type(error).__name__})]
    except (ValueError, JoseError, TypeError, KeyError) as error:
        return [Finding(False, gettext("The JWKS at %(url)s is not a valid key set: %(error)s.") % {
            "url": jwks_uri, "error": type(error).__name__})]
    described = ", ".join(f"{key.key_type} {key.kid or '(no kid)'}" for key in keys.keys)
    if keys.keys:
        count = len(keys.keys)
        return [Finding(True, ngettext("JWKS: %(count)s key (%(keys)s).", "JWKS: %(count)s keys (%(keys)s).", count)
                        % {"count": count, "keys": described})]
    return [Finding(False, gettext("The JWKS holds no key: no ID token could be verified."))]
