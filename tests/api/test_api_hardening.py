"""The decision API's doors closed by issue 19: unstorable input, existence by work, rate limits a user
could step around, and the answers a caller reads (missing project, 1-based statements, 405 as JSON)."""

import json
import random
import uuid

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from api import api as api_module
from api import auth, services
from api.models import ApiToken
from images.models import Image

pytestmark = pytest.mark.usefixtures("demo")

URL = "/api/v1/authorize"
LIST = {"action": "ims:images:list", "project": "cn-north-4"}


@pytest.fixture(autouse=True)
def fresh_rate_limit():
    cache.clear()
    yield
    cache.clear()


def token_for(username: str) -> str:
    _, secret = services.api_token_create(actor=User.objects.get(username=username), name=f"t-{random.random()}")
    return secret


def ask(secret, body=None, *, raw=None, client=None, **extra):
    data = raw if raw is not None else json.dumps(body)
    headers = {"Authorization": f"Bearer {secret}"} if secret is not None else {}
    return (client or Client()).post(URL, data=data, content_type="application/json", headers=headers, **extra)


def pointers(response) -> list[str]:
    return [error["pointer"] for error in response.json()["errors"]]


# --- 3. unstorable input is a located 400 ----------------------------------------------------------


@pytest.mark.parametrize(("body", "pointer"), [
    ({"user": "\ud800", "requests": [LIST]}, "/user"),
    ({"user": "a\x00b", "requests": [LIST]}, "/user"),
    ({"requests": [{"action": "ims:images:list", "project": "\udfff"}]}, "/requests/0/project"),
    ({"requests": [LIST, {"action": "ims:images:list", "project": "cn\x00north"}]}, "/requests/1/project"),
    ({"requests": [{"action": "ims:images:\ud800", "project": "cn-north-4"}]}, "/requests/0/action"),
    ({"requests": [{**LIST, "context": {"g:\ud800": "x"}}]}, "/requests/0/context/g:\\ud800"),
    ({"requests": [{**LIST, "context": {"g:UserName": ["ok", "a\x00"]}}]}, "/requests/0/context/g:UserName/1"),
    ({"\ud800": 1, "requests": [LIST]}, "/\\ud800"),
])
def test_a_surrogate_or_nul_anywhere_in_the_body_is_a_400_naming_the_field(body, pointer):
    response = ask(token_for("iam-admin"), body)
    assert response.status_code == 400, response.content
    assert pointer in pointers(response)
    assert "surrogate" in response.content.decode() or "NUL" in response.content.decode()


@pytest.mark.parametrize("raw", [
    '{"requests": [{"action": "ims:images:list", "project": "cn-north-4", "context": {"g:MFAAge": 1e400}}]}',
    '{"requests": [{"action": "ims:images:list", "project": "cn-north-4", "context": {"g:MFAAge": '
    + "9" * 5000 + "}}]}",
    '{"requests": [{"action": "ims:images:list", "context": ' + "[" * 10_000 + "]" * 10_000 + "}]}",
    '{"user": "' + "x" * 1_000_000 + '", "requests": [{"action": "ims:images:list"}]}',
    '{"requests": [{"action": "' + "x" * 1_000_000 + '"}]}',
    '{"requests": [{"action": "ims:images:list", "project": "cn-north-4", "context": {"' + "k" * 1_000_000
    + '": 1}}]}',
    '{"' + "k" * 1_000_000 + '": 1}',
])
def test_huge_numbers_deep_nesting_and_megabyte_strings_are_short_400s(raw):
    response = ask(token_for("iam-admin"), raw=raw)
    assert response.status_code == 400, response.content[:500]
    assert len(response.content) < 4000, "the error echoes the caller's input back"
    assert response.json()["errors"][0]["message"]


# --- 6. an image the caller cannot open costs the same work as an unknown id ----------------------


def test_a_hidden_image_and_an_unknown_id_cost_the_same_queries_through_the_same_code(monkeypatch):
    hidden = Image.objects.exclude(status="deleted").first()
    secret = token_for("newcomer")
    ask(secret, {"requests": [LIST]})  # the token's once-a-minute last_used_at write, out of the way
    seen = []
    checked = api_module._openable_by
    monkeypatch.setattr(api_module, "_openable_by", lambda *a, **k: seen.append(a[1].pk) or checked(*a, **k))
    shapes = []
    for image_id in (hidden.pk, uuid.uuid4(), hidden.pk):
        with CaptureQueriesContext(connection) as queries:
            response = ask(secret, {"requests": [{"action": "ims:images:get", "image": str(image_id)}]})
        assert response.status_code == 400
        shapes.append([q["sql"].replace(str(image_id).replace("-", ""), "ID").replace(str(image_id), "ID")
                       for q in queries])
    assert shapes[0] == shapes[1] == shapes[2]
    assert len(seen) == 3  # the unknown id went through the same decision as the hidden one


# --- 8. rate limits per user, sliding, failed authentications, token rows -------------------------


def test_the_limit_slides_across_a_window_boundary(settings, monkeypatch):
    settings.IMSPERM_API_RATE = "10/m"
    secret = token_for("viewer")
    clock = [1_000_000 * 60 + 59.0]  # one second before a minute boundary
    monkeypatch.setattr(auth.time, "time", lambda: clock[0])
    assert [ask(secret, {"requests": [LIST]}).status_code for _ in range(10)] == [200] * 10
    clock[0] += 2  # one second after the boundary: a fixed window would start again from 0
    limited = ask(secret, {"requests": [LIST]})
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    assert limited.json()["detail"]
    clock[0] += 60  # a whole minute later the window has slid past them
    assert ask(secret, {"requests": [LIST]}).status_code == 200


def test_the_limit_is_per_user_not_per_token(settings):
    settings.IMSPERM_API_RATE = "6/m"
    secrets = [token_for("viewer") for _ in range(3)]
    codes = [ask(secrets[n % 3], {"requests": [LIST]}).status_code for n in range(9)]
    assert codes == [200] * 6 + [429] * 3
    assert ask(token_for("developer"), {"requests": [{"action": "ims:images:list",
                                                       "project": "cn-north-4_dev"}]}).status_code == 200


def test_failed_authentications_are_throttled_per_client_address(settings):
    settings.IMSPERM_API_FAILED_AUTH_RATE = "5/m"
    codes = [ask(f"imsp_guess{n}", {"requests": [LIST]}, REMOTE_ADDR="203.0.113.7").status_code for n in range(7)]
    assert codes == [401] * 5 + [429] * 2
    refused = ask("imsp_guess", {"requests": [LIST]}, REMOTE_ADDR="203.0.113.7")
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert ask(None, {"requests": [LIST]}, REMOTE_ADDR="203.0.113.7").status_code == 429  # no token either
    # another address is not held back, and a good token from it works
    assert ask("imsp_guess", {"requests": [LIST]}, REMOTE_ADDR="203.0.113.8").status_code == 401
    assert ask(token_for("viewer"), {"requests": [LIST]}, REMOTE_ADDR="203.0.113.8").status_code == 200


def test_revoke_and_recreate_keeps_a_bounded_number_of_token_rows():
    viewer = User.objects.get(username="viewer")
    for number in range(60):
        token, _ = services.api_token_create(actor=viewer, name=f"rotating-{number}")
        services.api_token_revoke(actor=viewer, token=token)
    rows = ApiToken.objects.filter(user=viewer).count()
    assert rows <= services.MAX_ACTIVE_TOKENS + services.MAX_REVOKED_KEPT
    with pytest.raises(Exception, match="revoke one"):
        for number in range(services.MAX_ACTIVE_TOKENS + 1):
            services.api_token_create(actor=viewer, name=f"kept-{number}")


# --- 13. what a caller reads ----------------------------------------------------------------------


@pytest.mark.parametrize("action", ["ims:images:list", "ims:images:get", "ims:images:delete"])
def test_an_ims_action_without_project_or_image_is_a_400_naming_project(action):
    response = ask(token_for("viewer"), {"requests": [LIST, {"action": action}]})
    assert response.status_code == 400, response.content
    assert "/requests/1/project" in pointers(response)
    assert "project" in response.json()["errors"][0]["message"]


def test_an_iam_action_needs_no_project():
    response = ask(token_for("iam-admin"), {"requests": [{"action": "iam:users:listUsers"}]})
    assert response.status_code == 200, response.content


def test_matched_statements_count_from_1_as_the_explanation_does():
    response = ask(token_for("developer"), {"requests": [{"action": "ims:images:delete",
                                                          "project": "cn-north-4_dev"}]})
    result = response.json()["results"][0]
    (matched,) = result["matched"]
    assert matched["statement"] >= 1
    assert f"Statement {matched['statement']}" in result["explanation"]


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_a_wrong_method_is_a_json_405_with_allow(method):
    response = getattr(Client(), method)(URL)
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    assert response["Allow"] == "POST"
    assert "POST" in response.json()["detail"]


def test_a_body_over_the_upload_limit_is_a_413(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"requests": [{**LIST, "context": {"g:UserName": "x" * 200}}] * 10}
    response = ask(token_for("viewer"), body)
    assert response.status_code == 413 and response.json()["detail"]


@pytest.mark.parametrize("username", ["admin", "ims-admin", "developer", "viewer", "newcomer"])
def test_an_unknown_image_id_is_refused_for_everyone_even_who_may_open_every_image(username):
    for extra in ({}, {"project": "cn-north-4"}, {"context": {"g:MFAPresent": True}}):
        response = ask(token_for(username), {"requests": [{"action": "ims:images:get", "image": str(uuid.uuid4()),
                                                           **extra}]})
        assert response.status_code == 400 and pointers(response) == ["/requests/0/image"], response.content
