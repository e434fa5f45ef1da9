"""People and their claims from users.json; ID tokens as behaviour.json asks (tests only)."""

from __future__ import annotations

import base64
import json
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from jwcrypto import jwk, jwt
from oauth2_provider.oauth2_validators import OAuth2Validator


def read(name: str) -> dict:
    path = settings.STATE_DIR / name
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}


class JsonPeopleBackend(ModelBackend):
    """A person of users.json ({"ana": {"password": "…", "claims": {…}}}) signs in with their password."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        entry = read("users.json").get(username or "")
        if not entry or entry.get("password") != password:
            return None
        user, _ = get_user_model().objects.get_or_create(username=username)
        return user


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class ClaimsValidator(OAuth2Validator):
    oidc_claim_scope = None  # every claim of users.json, `groups` included, whatever the scopes

    def get_additional_claims(self, request):
        return dict(read("users.json").get(request.user.username, {}).get("claims", {}))

    def get_id_token_dictionary(self, token, token_handler, request):
        """The person's ID-token-only claims added (e.g. `amr`); `auth_time_ago` sets auth_time that many
        seconds back (as a provider whose session began earlier)."""
        claims, expiration = super().get_id_token_dictionary(token, token_handler, request)
        extra = dict(read("users.json").get(request.user.username, {}).get("id_token", {}))
        ago = extra.pop("auth_time_ago", None)
        if ago is not None:
            claims["auth_time"] = int(time.time()) - int(ago)
        claims.update(extra)
        return claims, expiration

    def get_userinfo_claims(self, request):
        """The person's userinfo-only claims added (what the ID token does not say)."""
        claims = super().get_userinfo_claims(request)
        claims.update(read("users.json").get(request.user.username, {}).get("userinfo", {}))
        return claims

    def finalize_id_token(self, id_token, token, token_handler, request):
        genuine = super().finalize_id_token(id_token, token, token_handler, request)
        tamper = read("behaviour.json").get("id_token")
        if not tamper:
            return genuine
        claims = {**id_token, **tamper.get("claims", {})}
        if "exp_offset" in tamper:
            claims["exp"] = int(time.time()) + int(tamper["exp_offset"])
            claims["iat"] = min(int(claims.get("iat", 0)), claims["exp"] - 60)
        if tamper.get("alg") == "none":
            return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
        if tamper.get("alg") == "HS256":  # keyed by a secret the client knows (its client secret)
            key = jwk.JWK(kty="oct", k=base64.urlsafe_b64encode(tamper["secret"].encode()).rstrip(b"=").decode())
            forged = jwt.JWT(header=json.dumps({"typ": "JWT", "alg": "HS256"}), claims=json.dumps(claims, default=str))
            forged.make_signed_token(key)
            return forged.serialize()
        key = request.client.jwk_key
        if tamper.get("foreign_key"):
            key = jwk.JWK.generate(kty="RSA", size=2048)
        header = {"typ": "JWT", "alg": "RS256", "kid": key.thumbprint()}
        forged = jwt.JWT(header=json.dumps(header), claims=json.dumps(claims, default=str))
        forged.make_signed_token(key)
        return forged.serialize()
