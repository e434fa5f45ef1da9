"""The loopback OpenID Connect provider (tests/oidc_provider) as a session fixture, and helpers to
sign in through it: the console's test client on one side, a real HTTP client on the provider's."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from loadtest.deployment import free_port

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30
CLIENT_ID = "imsperm-console"
CLIENT_SECRET = "console-secret-" + "x" * 20
PASSWORD = "provider-pass"


@dataclass
class LoopbackProvider:
    """The running provider: its issuer, and the files that say who its people are and how it behaves."""

    port: int
    state_dir: Path
    control_token: str
    redirect_uris: set[str] = field(default_factory=set)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return f"{self.base}/o"

    def people(self, people: dict[str, dict], *, id_token: dict[str, dict] | None = None,
               userinfo: dict[str, dict] | None = None) -> None:
        """{"ana": {"sub": …, "email": …, "groups": […]}}: each person's claims (password PASSWORD), in the
        ID token and the userinfo answer; `id_token` and `userinfo` ({"ana": {…}}) add claims to only one of
        them (e.g. {"ana": {"amr": ["pwd", "otp"], "auth_time_ago": 300}} for the ID token)."""
        data = {name: {"password": PASSWORD, "claims": claims, "id_token": (id_token or {}).get(name, {}),
                       "userinfo": (userinfo or {}).get(name, {})} for name, claims in people.items()}
        (self.state_dir / "users.json").write_text(json.dumps(data))

    def behave(self, id_token: dict | None = None) -> None:
        """How the next ID tokens are made: None for genuine ones."""
        (self.state_dir / "behaviour.json").write_text(json.dumps({"id_token": id_token} if id_token else {}))

    def register(self, *redirect_uris: str, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET,
                 public: bool = False) -> None:
        self.redirect_uris |= set(redirect_uris)
        response = requests.post(f"{self.base}/control/clients", timeout=10,
                                 headers={"X-Control-Token": self.control_token},
                                 data=json.dumps({"client_id": client_id, "client_secret": secret, "public": public,
                                                  "redirect_uris": sorted(self.redirect_uris)}))
        response.raise_for_status()

    def authorize(self, authorize_url: str, username: str, password: str = PASSWORD) -> str:
        """Sign in at the provider as a browser would; returns the URL it sends back to the console."""
        session = requests.Session()
        url = authorize_url
        for _ in range(6):
            response = session.get(url, allow_redirects=False, timeout=10)
            if response.status_code != 302:
                raise AssertionError(f"the provider answered {response.status_code} at {url}: {response.text[:300]}")
            location = response.headers["Location"]
            if location.startswith("/"):
                location = self.base + location
            if not location.startswith(self.base):
                return location
            if urlsplit(location).path == "/accounts/login/":
                session.get(location, timeout=10)
                login = session.post(location, timeout=10, allow_redirects=False, data={
                    "username": username, "password": password,
                    "csrfmiddlewaretoken": session.cookies.get("provider_csrftoken")},
                    headers={"Referer": location})
                if login.status_code != 302:
                    raise AssertionError(f"the provider refused {username}'s password")
                location = login.headers["Location"]
                if location.startswith("/"):
                    location = self.base + location
            url = location
        raise AssertionError("too many redirects at the provider")


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    """A real django-oauth-toolkit OIDC provider in its own process on a free loopback port."""
    state_dir = tmp_path_factory.mktemp("oidc-provider")
    port, token = free_port(), secrets.token_urlsafe(16)
    log = open(state_dir / "provider.log", "w")  # noqa: SIM115 - closed at teardown
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "oidc_provider" / "serve.py"), "--port", str(port),
         "--state-dir", str(state_dir)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "OIDC_PROVIDER_CONTROL_TOKEN": token, "PYTHONPATH": str(ROOT)},
    )
    provider = LoopbackProvider(port, state_dir, token)
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the test provider exited ({process.returncode}): "
                                   f"{(state_dir / 'provider.log').read_text()[-2000:]}")
            try:
                if requests.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the test provider did not answer within {STARTUP_SECONDS} s")
            time.sleep(0.2)
        provider.people({})
        provider.behave(None)
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()
