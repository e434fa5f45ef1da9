"""A software authenticator for the server-side passkey tests: what a browser and a security key send.

It only *makes* WebAuthn answers (P-256 keys, "none" attestation, CBOR by cbor2, signatures by
cryptography), as Chromium's virtual authenticator does in the browser tests; every check of them
is the server's (django-otp-webauthn → py_webauthn).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from base64 import urlsafe_b64decode, urlsafe_b64encode
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40


def b64url(data: bytes) -> str:
    return urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftAuthenticator:
    rp_id: str = "testserver"
    origin: str = "http://testserver"
    sign_count: int = 0
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def _auth_data(self, flags: int, attested: bytes = b"") -> bytes:
        return hashlib.sha256(self.rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", self.sign_count) \
            + attested

    def _client_data(self, kind: str, challenge: str, origin: str | None = None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin,
                           "crossOrigin": False}).encode()

    def create(self, options: dict, *, origin: str | None = None) -> dict:
        """navigator.credentials.create(): a new credential for the options' challenge."""
        attested = bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + self._cose_key()
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": self._auth_data(UP | UV | AT, attested)})
        return {"id": b64url(self.credential_id), "rawId": b64url(self.credential_id), "type": "public-key",
                "response": {"clientDataJSON": b64url(self._client_data("webauthn.create", options["challenge"],
                                                                        origin)),
                             "attestationObject": b64url(attestation), "transports": ["usb"]},
                "clientExtensionResults": {"credProps": {"rk": False}}, "authenticatorAttachment": "cross-platform"}

    def get(self, options: dict, *, origin: str | None = None, count_up: bool = True) -> dict:
        """navigator.credentials.get(): an assertion over the options' challenge (sign count + 1)."""
        if count_up:
            self.sign_count += 1
        auth_data = self._auth_data(UP | UV)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {"id": b64url(self.credential_id), "rawId": b64url(self.credential_id), "type": "public-key",
                "response": {"clientDataJSON": b64url(client_data), "authenticatorData": b64url(auth_data),
                             "signature": b64url(signature), "userHandle": None},
                "clientExtensionResults": {}, "authenticatorAttachment": "cross-platform"}
