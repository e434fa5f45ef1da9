"""POST /api/v1/authorize: bearer tokens, the same answers as `manage.py iam_simulate --user`, refusals."""

import json
import random
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.management.commands.seed_demo import PERSONAS
from accounts.models import AuditEvent, Project, User
from accounts.policy import ACTION_NAMES
from api import services
from api.models import ApiToken, token_digest
from images.models import Image

pytestmark = pytest.mark.usefixtures("demo")

URL = "/api/v1/authorize"
PERSONA_NAMES = [name for name, *_ in PERSONAS]
LIST = {"action": "ims:images:list", "project": "cn-north-4"}  # an IMS action needs its project


@pytest.fixture(autouse=True)
def fresh_rate_limit():
    cache.clear()
    yield
    cache.clear()


def token_for(username: str) -> str:
    _, secret = services.api_token_create(actor=User.objects.get(username=username), name=f"t-{random.random()}")
    return secret


def ask(secret, body, *, client=None, raw=None):
    client = client or Client()
    data = raw if raw is not None else json.dumps(body)
    headers = {"Authorization": f"Bearer {secret}"} if secret is not None else {}
    return client.post(URL, data=data, content_type="application/json", headers=headers)


def simulate(username, action, project=None, image=None, context=None) -> dict:
    args = ["--user", username, "--action", action]
    if project:
        args += ["--project", project]
    if image:
        args += ["--image", str(image)]
    if context:
        args += ["--context", json.dumps(context)]
    out = StringIO()
    call_command("iam_simulate", *args, stdout=out)
    return json.loads(out.getvalue())["results"][0]


# --- same answers as iam_simulate ----------------------------------------------------------------


def test_decisions_equal_iam_simulate_on_300_random_cases(settings):
    settings.IMSPERM_API_RATE = "1000/m"
    rng = random.Random(20261201)
    secret = token_for("admin")  # the admin may ask about anyone
    projects = [None, *Project.objects.values_list("name", flat=True)]
    images = list(Image.objects.values_list("pk", flat=True))
    contexts = [{}, {"g:MFAPresent": True}, {"g:SourceIp": "10.1.2.3"}, {"ims:ResourceTag/env": "prod"}]
    cases = []
    for _ in range(300):
        image = rng.choice(images) if rng.random() < 0.5 else None
        action = rng.choice(sorted(ACTION_NAMES))
        project = rng.choice(projects)
        if project is None and image is None and action.startswith("ims:"):  # else a 400 naming project
            project = rng.choice(projects[1:])
        cases.append({"user": rng.choice(PERSONA_NAMES), "action": action,
                      "project": project, "image": str(image) if image else None,
                      "context": rng.choice(contexts)})
    # the developers' Deny, so that every outcome is compared
    cases[::30] = [{"user": "developer", "action": "ims:images:delete", "project": "cn-north-4_dev", "image": None,
                    "context": {}}] * len(cases[::30])
    outcomes = set()
    for batch_start in range(0, len(cases), 50):
        batch = cases[batch_start:batch_start + 50]
        by_user = {}
        for case in batch:
            by_user.setdefault(case["user"], []).append(case)
        for username, mine in by_user.items():
            body = {"user": username, "requests": [
                {key: case[key] for key in ("action", "project", "image", "context") if case[key] is not None}
                for case in mine]}
            response = ask(secret, body)
            assert response.status_code == 200, response.content
            answer = response.json()
            assert answer["user"] == username
            for case, result in zip(mine, answer["results"], strict=True):
                expected = simulate(username, case["action"], case["project"], case["image"], case["context"])
                assert result == expected, case
                outcomes.add(result["decision"])
    assert outcomes == {"allow", "explicit_deny", "implicit_deny"}


def test_an_answer_names_the_deciding_statements_and_the_missing_keys():
    secret = token_for("developer")
    response = ask(secret, {"requests": [
        {"action": "ims:images:delete", "project": "cn-north-4_dev"},
        {"action": "ims:images:list", "project": "cn-north-4_dev"},
        LIST,
    ]})
    assert response.status_code == 200
    delete, listing, elsewhere = response.json()["results"]
    assert delete["decision"] == "explicit_deny"
    assert [m["policy"] for m in delete["matched"]] == ["DenyImageDeletion"]
    assert listing["decision"] == "allow" and listing["matched"][0]["group"] == "developers"
    assert elsewhere["decision"] == "implicit_deny" and elsewhere["matched"] == []
    assert all("missing_keys" in result for result in (delete, listing, elsewhere))


def test_the_answer_is_about_the_user_not_the_callers_http_request():
    """No g:SourceIp or MFA of the calling service leaks into the user's decision: the context says it."""
    secret = token_for("viewer")
    body = {"requests": [{"action": "ims:images:get", "project": "cn-north-4", "context": {"g:MFAPresent": True}}]}
    assert ask(secret, body).json()["results"][0] == simulate("viewer", "ims:images:get", "cn-north-4",
                                                             context={"g:MFAPresent": True})


# --- tokens ------------------------------------------------------------------------------------


def test_token_lifecycle_create_use_revoke_audit_hashed_at_rest(as_user):
    browser = as_user("viewer")
    page = browser.post("/me/api-tokens/create/", {"name": "deploy bot"})
    assert page.status_code == 201
    secret = page.context["secret"]
    assert secret.startswith("imsp_") and secret in page.content.decode()
    token = ApiToken.objects.get(user__username="viewer", name="deploy bot")
    stored = json.dumps(list(ApiToken.objects.values()), default=str)
    assert token.digest == token_digest(secret) and secret not in stored
    listing = browser.get("/me/api-tokens/").content.decode()
    assert "deploy bot" in listing and token.prefix in listing and secret not in listing
    assert AuditEvent.objects.filter(action="apitoken:create", actor_name="viewer", target_id=str(token.pk)).exists()

    used = ask(secret, {"requests": [LIST]})
    assert used.status_code == 200 and used.json()["results"][0]["decision"] == "allow"
    token.refresh_from_db()
    assert token.last_used_at is not None

    assert browser.post(f"/me/api-tokens/{token.pk}/revoke/").status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(action="apitoken:revoke", actor_name="viewer").exists()
    refused = ask(secret, {"requests": [LIST]})
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert "revoked" in browser.get("/me/api-tokens/").content.decode()


def test_someone_elses_token_cannot_be_revoked(as_user):
    other = ApiToken.objects.get(digest=token_digest(token_for("developer")))
    assert as_user("viewer").post(f"/me/api-tokens/{other.pk}/revoke/").status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None


def test_token_names_are_checked(as_user):
    browser = as_user("viewer")
    assert browser.post("/me/api-tokens/create/", {"name": ""}).status_code == 400
    assert browser.post("/me/api-tokens/create/", {"name": "ci"}).status_code == 201
    again = browser.post("/me/api-tokens/create/", {"name": "CI"})
    assert again.status_code == 400 and "already have a token named" in again.content.decode()


def test_token_pages_need_sign_in(client):
    assert client.get("/me/api-tokens/").status_code == 302
    assert client.post("/me/api-tokens/create/", {"name": "x"}).status_code == 302
    assert not ApiToken.objects.filter(name="x").exists()


def test_the_token_page_stays_within_its_query_budget(as_user, django_assert_max_num_queries):
    browser = as_user("viewer")
    for number in range(5):
        browser.post("/me/api-tokens/create/", {"name": f"t{number}"})
    browser.get("/me/api-tokens/")
    with django_assert_max_num_queries(8):
        assert browser.get("/me/api-tokens/").status_code == 200


# --- refusals ----------------------------------------------------------------------------------


def test_no_token_malformed_or_unknown_is_401():
    body = {"requests": [LIST]}
    for headers in ({}, {"Authorization": "Basic dXNlcjpwdw=="}, {"Authorization": "Bearer"},
                    {"Authorization": "Bearer imsp_nope"}):
        response = Client().post(URL, data=json.dumps(body), content_type="application/json", headers=headers)
        assert response.status_code == 401, headers
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert response.json()["detail"]


def test_a_signed_in_session_is_not_a_token(as_user):
    """Session cookies never authenticate the API, so it needs no CSRF check and grants no CSRF hole."""
    browser = as_user("admin")
    response = ask(None, {"requests": [LIST]}, client=browser)
    assert response.status_code == 401


def test_a_deactivated_users_token_is_refused():
    secret = token_for("viewer")
    User.objects.filter(username="viewer").update(is_active=False)
    assert ask(secret, {"requests": [LIST]}).status_code == 401


def test_asking_about_another_user_needs_the_simulate_permission():
    secret = token_for("viewer")
    response = ask(secret, {"user": "developer", "requests": [LIST]})
    assert response.status_code == 403
    assert "iam:permissions:listPermissions" in response.json()["detail"]
    assert AuditEvent.objects.filter(actor_name="viewer", action="iam:permissions:listPermissions",
                                     outcome="denied", target_repr=URL).exists()
    # asking about oneself by name is fine, and the IAM administrator may ask about anyone
    assert ask(secret, {"user": "viewer", "requests": [LIST]}).status_code == 200
    iam = token_for("iam-admin")
    assert ask(iam, {"user": "developer", "requests": [LIST]}).status_code == 200
    unknown = ask(iam, {"user": "nobody", "requests": [LIST]})
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["pointer"] == "/user"


def test_more_than_100_requests_is_400():
    secret = token_for("viewer")
    response = ask(secret, {"requests": [LIST] * 101})
    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "/requests"
    assert ask(secret, {"requests": [LIST] * 100}).status_code == 200


@pytest.mark.parametrize(("body", "pointer"), [
    ({"requests": [LIST, {"action": "ims:images:fly"}]}, "/requests/1/action"),
    ({"requests": [{"action": "ims:images:list", "project": "mars-1"}]}, "/requests/0/project"),
    ({"requests": [{"action": "ims:images:get", "image": "not-a-uuid"}]}, "/requests/0/image"),
    ({"requests": [{"action": "ims:images:get", "image": "00000000-0000-0000-0000-000000000000"}]},
     "/requests/0/image"),
    ({"requests": [{"action": "ims:images:get", "context": {"k": {"nested": 1}}}]}, "/requests/0/context/k"),
    ({"requests": [{"action": "ims:images:get", "colour": "red"}]}, "/requests/0/colour"),
    ({"requests": [{"project": "cn-north-4"}]}, "/requests/0/action"),
    ({"requests": []}, "/requests"),
    ({}, "/requests"),
    ({"user": 7, "requests": [LIST]}, "/user"),
])
def test_bad_bodies_are_400_with_a_pointer_to_the_field(body, pointer):
    response = ask(token_for("iam-admin"), body)
    assert response.status_code == 400, response.content
    pointers = [error["pointer"] for error in response.json()["errors"]]
    assert any(p == pointer or p.startswith(pointer + "/") for p in pointers), pointers


@pytest.mark.parametrize("raw", ["{not json", "", "[1, 2]", '"text"'])
def test_bad_json_is_400(raw):
    response = ask(token_for("viewer"), None, raw=raw)
    assert response.status_code == 400
    assert response.json()["errors"]


def test_the_rate_limit_answers_429_with_retry_after(settings):
    settings.IMSPERM_API_RATE = "3/m"
    secret, other = token_for("viewer"), token_for("ims-admin")
    body = {"requests": [LIST]}
    assert [ask(secret, body).status_code for _ in range(3)] == [200, 200, 200]
    limited = ask(secret, body)
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) >= 1
    assert ask(other, body).status_code == 200  # counted per user (tests/api/test_api_hardening.py)


# --- the OpenAPI description -------------------------------------------------------------------


def test_the_openapi_description_is_served():
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    operation = document["paths"]["/api/v1/authorize"]["post"]
    assert set(operation["responses"]) >= {"200", "400", "401", "403", "429"}
    assert document["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"
    assert "AuthorizeIn" in document["components"]["schemas"]


def test_a_batch_costs_the_same_queries_for_1_and_100_requests():
    secret = token_for("iam-admin")
    images = [str(pk) for pk in Image.objects.values_list("pk", flat=True)[:100]]

    def body(count):
        return {"user": "developer", "requests": [
            {"action": "ims:images:get", "project": "cn-north-4_dev", "image": images[n % len(images)]}
            for n in range(count)]}

    ask(secret, body(1))
    with CaptureQueriesContext(connection) as one:
        ask(secret, body(1))
    with CaptureQueriesContext(connection) as hundred:
        ask(secret, body(100))
    assert len(one) == len(hundred) <= 12


def test_an_image_the_token_cannot_open_is_answered_like_an_unknown_id():
    """Else a token would tell that an image exists, and its tags and type through the conditions."""
    import uuid

    hidden = Image.objects.exclude(status="deleted").first()
    secret = token_for("newcomer")  # may open no image at all
    answers = []
    for image_id in (hidden.pk, uuid.uuid4()):
        response = ask(secret, {"requests": [{"action": "ims:images:get", "image": str(image_id)}]})
        assert response.status_code == 400
        answers.append(json.dumps(response.json()).replace(str(image_id), "ID"))
    assert answers[0] == answers[1] and "that you can open" in answers[0]
    # the admin, who may open it, is answered about it
    opened = ask(token_for("admin"), {"requests": [{"action": "ims:images:get", "image": str(hidden.pk)}]})
    assert opened.status_code == 200 and opened.json()["results"][0]["image"] == str(hidden.pk)


def test_asking_about_another_user_needs_what_naming_holders_needs():
    """The simulator's pages for another user need who-can's actions (who_can.may_see_names): the API
    asked only iam:permissions:listPermissions, so that permission alone read anyone's decisions."""
    from accounts import services

    document = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["iam:permissions:listPermissions"]}]}
    policy = services.policy_create(actor=None, name="list-permissions-only", document=document)
    group = services.group_create(actor=None, name="permission-listers")
    services.grant_attach(actor=None, group=group, policies=[policy], all_resources=True)
    services.group_add_member(actor=None, group=group, user=User.objects.get(username="viewer"))
    secret = token_for("viewer")
    response = ask(secret, {"user": "developer", "requests": [LIST]})
    assert response.status_code == 403
    assert "iam:users:listUsers" in response.json()["detail"]
    assert AuditEvent.objects.filter(actor_name="viewer", action="iam:users:listUsers", outcome="denied").exists()
