"""Hostile JSON in every place the console reads JSON: never a 500, always a located refusal.

The JSON endpoints: the decision API (`POST /api/v1/authorize`), the configuration import (its pasted
`document`, its uploaded `file`, its confirm step), the policy editor (create, the JSON → visual switch,
the live validator) and the simulator (a pasted policy, and its `key=value` context lines). Each gets
a valid body with one hostile fragment put in one place — as a value or as a key, at any depth: a
lone surrogate (escaped, as JSON allows), NUL, 1e400, a 5,001-digit integer, 10,000 levels of
nesting, a megabyte string. The answer must be a refusal a client can act on (400/413/422, or the
validator's own findings for the endpoints whose answer *is* the findings) that names the place: a
JSON Pointer, a JSON path or a line and column. Run on SQLite and PostgreSQL by CI; PostgreSQL is
where NUL and surrogates would reach the database and fail (tests/test_bad_input_fuzz.py has the
form fields' side, tests/policy/test_hostile_json.py the parser's).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts import iac
from accounts.models import User, UserGroup
from accounts.policy import locate
from api import services
from api.models import ApiToken, token_digest
from tests.properties import examples

pytestmark = pytest.mark.usefixtures("demo")

MEGABYTE = 1_000_000
VALUES = {  # raw JSON text, put where a value goes
    "surrogate": '"a\\ud800b"',
    "low-surrogate": '"\\udfff"',
    "nul": '"a\\u0000b"',
    "1e400": "1e400",
    "5001-digits": "1" + "0" * 5000,
    "deep-10000": "[" * 10_000 + "]" * 10_000,
    "deep-objects": '{"a":' * 10_000 + "1" + "}" * 10_000,
    "megabyte-string": '"' + "x" * MEGABYTE + '"',
}
KEYS = {  # raw JSON text, put where a key goes
    "surrogate-key": '"\\ud800"',
    "nul-key": '"k\\u0000"',
    "megabyte-key": '"' + "k" * MEGABYTE + '"',
}
MARK = "@@hostile@@"
POLICY = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"], "Condition": {
    "StringEquals": {"g:UserName": ["a"]}}}]}
CONFIGURATION = {"format": "imsperm-iam/1", "users": [{"username": "fuzz-user", "first_name": "F"}],
                 "groups": [{"name": "fuzzers", "description": "d", "members": ["fuzz-user"]}],
                 "policies": [{"name": "FuzzPolicy", "description": "", "document": POLICY}]}
API_BODY = {"user": "viewer", "requests": [{"action": "ims:images:get", "project": "cn-north-4",
                                            "context": {"g:UserName": "x", "g:MFAAge": 5}}]}
# A JSON Pointer (API), a JSON path (import), a line and column, or the validator's finding on the
# document field (a text too long to read is refused as a whole).
LOCATED = re.compile(r'"pointer": "/|data-testid="error-path">\$|data-line="\d+"|line \d+, column \d+'
                     r'|class="finding finding-error"')
TOKENS = itertools.count()
_SECRETS: list[str] = []


@pytest.fixture(autouse=True)
def api_limits(settings):
    settings.IMSPERM_API_RATE = "100000/m"
    cache.clear()
    yield
    cache.clear()


# --- putting a fragment in a place --------------------------------------------------------------


def places(value, path=()) -> list[tuple[str, tuple]]:
    """Every place of a document: ("value", path) for each value but the root, ("key", path) for each object."""
    found = [("value", path)] if path else []
    if isinstance(value, dict):
        found.append(("key", path))
        for key, member in value.items():
            found += places(member, (*path, key))
    elif isinstance(value, list):
        for number, member in enumerate(value):
            found += places(member, (*path, number))
    return found


def with_fragment(document, place: tuple[str, tuple], fragment: str) -> str:
    """`document` as JSON text with the raw `fragment` at `place` (a value replaced, or a key added)."""
    kind, path = place
    copy = json.loads(json.dumps(document))
    target = copy
    for part in path[:-1] if kind == "value" else path:
        target = target[part]
    if kind == "value":
        target[path[-1]] = MARK
    else:
        target[MARK] = 1
    return json.dumps(copy).replace(f'"{MARK}"', fragment, 1)


# --- the endpoints ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    name: str
    document: object
    send: Callable[[Client, str], object]
    refusals: frozenset = frozenset({400, 413, 422})
    converts: bool = False  # the JSON → visual switch: JSON it can read is converted, not refused


def _admin(client: Client) -> Client:
    client.force_login(User.objects.get(username="admin"))
    return client


def _secret() -> str:
    """A token of iam-admin (who may ask about anyone), made once per test: a test's examples share it."""
    if not (_SECRETS and ApiToken.objects.filter(digest=token_digest(_SECRETS[-1])).exists()):
        _SECRETS.append(services.api_token_create(actor=User.objects.get(username="iam-admin"),
                                                  name=f"fuzz-{next(TOKENS)}")[1])
    return _SECRETS[-1]


def _api(client, text):
    secret = _secret()
    return client.post("/api/v1/authorize", data=text.encode("utf-8", "surrogatepass"),
                       content_type="application/json", headers={"Authorization": f"Bearer {secret}"})


def _simulator(text):
    return {"subject": "document", "document": text, "actions": "ims:images:list", "project": "cn-north-4"}


ENDPOINTS = [
    Endpoint("api-authorize", API_BODY, _api),
    Endpoint("import-document", CONFIGURATION, lambda c, text: _admin(c).post("/iam/config/", {"document": text})),
    Endpoint("import-file", CONFIGURATION, lambda c, text: _admin(c).post("/iam/config/", {
        "file": SimpleUploadedFile("iam.json", text.encode("utf-8", "surrogatepass"), "application/json")})),
    Endpoint("import-confirm", CONFIGURATION, lambda c, text: _admin(c).post("/iam/config/", {
        "confirm": "1", "document": text, "document_hash": "0" * 64, "config_hash": "0" * 64})),
    Endpoint("policy-create", POLICY, lambda c, text: _admin(c).post("/iam/policies/new/", {
        "name": "fuzz-policy", "description": "", "mode": "json", "document": text})),
    # The two whose answer is the findings themselves: 200 with each finding at its line and column.
    Endpoint("policy-validate", POLICY, lambda c, text: _admin(c).post("/iam/policies/validate/", {
        "mode": "json", "document": text}), frozenset({200, 400, 413, 422})),
    Endpoint("policy-to-visual", POLICY, lambda c, text: _admin(c).post("/iam/policies/editor/", {
        "mode": "json", "to": "visual", "document": text}), frozenset({200, 400, 413, 422}), converts=True),
    Endpoint("simulator-document", POLICY, lambda c, text: _admin(c).get("/iam/simulator/", _simulator(text))),
]
BY_NAME = {endpoint.name: endpoint for endpoint in ENDPOINTS}


def check(endpoint: Endpoint, text: str, client: Client | None = None):
    response = endpoint.send(client or Client(), text)
    body = response.content.decode("utf-8", "replace")
    assert response.status_code < 500, body[:2000]
    assert response.status_code in endpoint.refusals, (response.status_code, body[:2000])
    if endpoint.converts and _readable(text):
        return response
    assert LOCATED.search(body), body[:3000]
    if endpoint.name.startswith("api"):
        assert len(response.content) < 8000, "the API's error echoes the caller's input"
    return response


def _readable(text: str) -> bool:
    try:
        locate.parse(text)
    except locate.LocateError:
        return False
    return True


def test_each_valid_document_goes_through():
    """Else the fuzz would only find the base document's own mistakes."""
    assert _api(Client(), json.dumps(API_BODY)).status_code == 200
    assert _admin(Client()).post("/iam/config/", {"document": json.dumps(CONFIGURATION)}).status_code == 200
    created = _admin(Client()).post("/iam/policies/new/", {"name": "fuzz-ok", "mode": "json",
                                                          "document": json.dumps(POLICY)})
    assert created.status_code == 302
    assert _admin(Client()).get("/iam/simulator/", _simulator(json.dumps(POLICY))).status_code == 200


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
@pytest.mark.parametrize("kind", [*VALUES, *KEYS])
def test_every_hostile_fragment_deep_in_every_json_endpoint_is_a_located_refusal(endpoint, kind):
    """Each fragment at the deepest place of its sort (the value or the object nested furthest in)."""
    sort = "key" if kind in KEYS else "value"
    place = max((p for p in places(endpoint.document) if p[0] == sort), key=lambda p: len(p[1]))
    check(endpoint, with_fragment(endpoint.document, place, {**VALUES, **KEYS}[kind]))


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
@hypothesis_settings(max_examples=examples(12), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_hostile_fragments_anywhere_are_located_refusals(endpoint, data):
    place = data.draw(st.sampled_from(places(endpoint.document)), label="place")
    fragments = KEYS if place[0] == "key" else VALUES
    kind = data.draw(st.sampled_from(sorted(fragments)), label="fragment")
    check(endpoint, with_fragment(endpoint.document, place, fragments[kind]))


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
@pytest.mark.parametrize("text", ["", "{", "[1, 2", "NaN", '{"a": 1} x', "\ufeff{}", "1" * 100, "null"])
def test_text_that_is_not_a_document_is_a_located_refusal(endpoint, text):
    response = endpoint.send(Client(), text)
    assert response.status_code < 500
    assert response.status_code in endpoint.refusals | {200} if endpoint.name.startswith("policy-") else \
        response.status_code in endpoint.refusals


# --- the import's unstorable text, where PostgreSQL refused it with a 500 ------------------------


@pytest.mark.parametrize(("document", "path"), [
    ({**CONFIGURATION, "groups": [{"name": "fuzz\x00ers"}]}, "$.groups[0].name"),
    ({**CONFIGURATION, "users": [{"username": "fuzz-user", "first_name": "F\x00"}]}, "$.users[0].first_name"),
    ({**CONFIGURATION, "users": [{"username": "fuzz-user", "last_name": "\ud800"}]}, "$.users[0].last_name"),
    ({**CONFIGURATION, "policies": [{"name": "P", "document": {"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["ims:images:list"], "Condition": {"StringEquals": {"g:UserName\x00": "a"}}}]}}]},
     '$.policies[0].document.Statement[0].Condition.StringEquals["g:UserName\\u0000"]'),
])
def test_an_import_with_unstorable_text_is_a_422_naming_its_place(document, path):
    text = json.dumps(document)
    response = _admin(Client()).post("/iam/config/", {"document": text})
    assert response.status_code == 422
    paths = re.findall(r'data-testid="error-path">([^<]*)</code>', response.content.decode())
    assert path.replace('"', "&quot;") in paths, paths
    with pytest.raises(iac.DocumentError) as refused:
        iac.parse_text(text)
    assert refused.value.errors[0][0] == path
    assert not UserGroup.objects.filter(name__startswith="fuzz").exists()


# --- the simulator's context lines: key=value, not JSON, but the same hostile text -------------------


@pytest.mark.parametrize("context", [
    "g:UserName=a\x00b",
    "g:UserName=" + "x" * MEGABYTE,
    "k" * MEGABYTE + "=1",
    # (a lone surrogate cannot be URL-encoded: its UTF-8 bytes are tests/test_bad_input_fuzz.py's)
    "g:MFAAge=1e400",
    "g:MFAAge=" + "1" + "0" * 5000,
    "\n".join(f"g:UserName=v{n}" for n in range(10_000)),
    "=" * MEGABYTE,
])
def test_hostile_simulator_context_lines_are_refused_at_their_line_without_echo(context):
    response = _admin(Client()).get("/iam/simulator/", {**_simulator(json.dumps(POLICY)), "context": context})
    assert response.status_code in (200, 400, 422), response.status_code  # 400: the console's NUL refusal
    errors = re.findall(r'class="field-error" role="alert">([^<]*)<', response.content.decode())
    assert all(len(error) < 500 for error in errors), [error[:200] for error in errors]
    if response.status_code == 422:
        assert any(re.search(r"Line \d+|at most|null characters", error) for error in errors), errors
