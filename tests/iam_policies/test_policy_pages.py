"""Every policy and simulator page four ways: anonymous, forbidden, allowed, out of scope.

Expectations are written out by hand from the demo world: admin (admin group) and iam-admin
(Security Administrator, iam:*:*) may use the IAM pages; ims-admin (IMS FullAccess) and viewer
(IMS ReadOnlyAccess) hold no IAM action at all.
"""

import pytest

UNKNOWN_ID = 999999

# page name -> url; ALLOWED_IAM holds the status each persona gets on every one of them
ALLOWED_IAM = {"admin": 200, "iam-admin": 200, "ims-admin": 403, "viewer": 403}
PAGES = {
    "list": "/iam/policies/",
    "detail": "/iam/policies/{custom}/",
    "system-detail": "/iam/policies/{system}/",
    "create": "/iam/policies/new/",
    "edit": "/iam/policies/{custom}/edit/",
    "clone": "/iam/policies/{system}/clone/",
    "delete": "/iam/policies/{custom}/delete/",
    "simulator": "/iam/simulator/",
    "effective": "/iam/simulator/effective/?user=developer",
}
OUT_OF_SCOPE = {
    "detail": f"/iam/policies/{UNKNOWN_ID}/",
    "edit": f"/iam/policies/{UNKNOWN_ID}/edit/",
    "clone": f"/iam/policies/{UNKNOWN_ID}/clone/",
    "delete": f"/iam/policies/{UNKNOWN_ID}/delete/",
    "effective": "/iam/simulator/effective/?user=nobody-by-that-name",
}


def _url(page_name, policy_named, scratch_policy):
    return PAGES[page_name].format(custom=scratch_policy.pk, system=policy_named("IMS FullAccess").pk)


@pytest.mark.parametrize("page_name", PAGES)
def test_anonymous_is_sent_to_sign_in(client, page_name, policy_named, scratch_policy):
    response = client.get(_url(page_name, policy_named, scratch_policy))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("page_name", PAGES)
@pytest.mark.parametrize("persona", ["admin", "iam-admin", "ims-admin", "viewer"])
def test_each_persona_gets_the_page_or_a_clear_403(as_user, page_name, persona, policy_named, scratch_policy):
    response = as_user(persona).get(_url(page_name, policy_named, scratch_policy))
    assert response.status_code == ALLOWED_IAM[persona]
    if response.status_code == 403:
        assert "You are not allowed to do this" in response.content.decode()
        assert "implicit deny" in response.content.decode()


@pytest.mark.parametrize("page_name", OUT_OF_SCOPE)
@pytest.mark.parametrize("persona", ["admin", "iam-admin"])
def test_unknown_objects_are_404_for_those_allowed(as_user, demo, page_name, persona):
    assert as_user(persona).get(OUT_OF_SCOPE[page_name]).status_code == 404


@pytest.mark.parametrize("page_name", OUT_OF_SCOPE)
def test_unknown_objects_are_403_for_those_not_allowed(as_user, demo, page_name):
    """Refused before the lookup: a forbidden user learns nothing about which ids exist."""
    assert as_user("viewer").get(OUT_OF_SCOPE[page_name]).status_code == 403


@pytest.mark.parametrize(("endpoint", "persona", "status"), [
    ("/iam/policies/validate/", "iam-admin", 200),
    ("/iam/policies/validate/", "admin", 200),
    ("/iam/policies/validate/", "ims-admin", 403),
    ("/iam/policies/validate/", "viewer", 403),
    ("/iam/policies/editor/", "iam-admin", 200),
    ("/iam/policies/editor/", "viewer", 403),
])
def test_editor_endpoints_serve_only_policy_writers(as_user, demo, endpoint, persona, status):
    response = as_user(persona).post(endpoint, {"mode": "json", "document": "{}"}, headers={"HX-Request": "true"})
    assert response.status_code == status


@pytest.mark.parametrize("endpoint", ["/iam/policies/validate/", "/iam/policies/editor/"])
def test_editor_endpoints_need_sign_in(client, demo, endpoint):
    response = client.post(endpoint, {"mode": "json", "document": "{}"})
    assert response.status_code == 302


def test_list_shows_every_kind_with_descriptions(as_user, scratch_policy):
    page = as_user("iam-admin").get("/iam/policies/").content.decode()
    for name in ("Tenant Administrator", "Server Administrator", "IMS FullAccess", "IMS ReadOnlyAccess",
                 "DenyImageDeletion", "Scratch"):
        assert f'data-policy="{name}"' in page
    assert "Read-only permissions for IMS. Users with these permissions can only view IMS data." in page
    assert "Create custom policy" in page


@pytest.mark.parametrize(("query", "shown", "hidden"), [
    ("?kind=role", ["Server Administrator", "Tenant Guest"], ["IMS FullAccess", "DenyImageDeletion"]),
    ("?kind=system", ["IMS FullAccess", "FullAccess"], ["Server Administrator", "DenyImageDeletion"]),
    ("?kind=custom", ["DenyImageDeletion"], ["IMS FullAccess", "Server Administrator"]),
    ("?q=readonly", ["IMS ReadOnlyAccess"], ["IMS FullAccess", "DenyImageDeletion"]),
    ("?kind=role&q=image", ["Server Administrator"], ["IMS Administrator", "IMS FullAccess"]),
])
def test_list_filters_by_kind_and_searches(as_user, demo, query, shown, hidden):
    page = as_user("admin").get("/iam/policies/" + query).content.decode()
    for name in shown:
        assert f'data-policy="{name}"' in page
    for name in hidden:
        assert f'data-policy="{name}"' not in page


def test_list_query_budget(as_user, demo, django_assert_max_num_queries):
    client = as_user("iam-admin")
    client.get("/iam/policies/")  # warm the compiled permissions
    with django_assert_max_num_queries(6):
        assert client.get("/iam/policies/").status_code == 200


def test_simulator_and_grid_query_budget(as_user, demo, django_assert_max_num_queries):
    client = as_user("iam-admin")
    with django_assert_max_num_queries(14):
        assert client.get("/iam/simulator/effective/?user=developer").status_code == 200
    with django_assert_max_num_queries(14):
        response = client.get("/iam/simulator/?subject=user&user=developer&actions=ims:images:delete"
                              "&project=cn-north-4_dev")
        assert response.status_code == 200


def test_system_role_detail_shows_document_dependencies_and_groups(as_user, policy_named):
    page = as_user("iam-admin").get(f"/iam/policies/{policy_named('Server Administrator').pk}/").content.decode()
    assert "&quot;ims:serverImages:create&quot;" in page
    assert "also attaches, in the same scope" in page and ">IMS Administrator</a>" in page
    assert "north-ops" in page and "cn-north-4" in page
    assert "System-defined: read-only." in page
    assert ">Edit</a>" not in page and ">Delete</a>" not in page
    assert ">Clone</a>" in page


def test_custom_policy_detail_offers_edit_clone_delete_to_iam_admin(as_user, policy_named):
    page = as_user("iam-admin").get(f"/iam/policies/{policy_named('DenyImageDeletion').pk}/").content.decode()
    assert ">Edit</a>" in page and ">Clone</a>" in page and ">Delete</a>" in page
    assert "developers" in page and "cn-north-4_dev" in page


def test_list_hides_create_from_those_who_cannot(as_user, policy_named, monkeypatch):
    """A reader of policies who may not write them sees no write controls (decided by the engine)."""
    from accounts import authz
    from accounts.authz import Explanation

    real = authz.Authorization.decide

    def read_only(self, action, *args, **kwargs):
        if action in ("iam:roles:createRole", "iam:roles:updateRole", "iam:roles:deleteRole"):
            return Explanation(action, None, "implicit_deny")
        return real(self, action, *args, **kwargs)

    monkeypatch.setattr(authz.Authorization, "decide", read_only)
    client = as_user("iam-admin")
    assert "Create custom policy" not in client.get("/iam/policies/").content.decode()
    page = client.get(f"/iam/policies/{policy_named('DenyImageDeletion').pk}/").content.decode()
    assert ">Edit</a>" not in page and ">Clone</a>" not in page and ">Delete</a>" not in page
    assert client.get("/iam/policies/new/").status_code == 403


def test_list_query_count_does_not_grow_with_policies(as_user, demo, django_assert_num_queries,
                                                      django_assert_max_num_queries):
    """The policies come with their group counts in one query, whatever their number."""
    from accounts import services

    client = as_user("iam-admin")
    client.get("/iam/policies/")  # warm the compiled permissions
    with django_assert_max_num_queries(8) as before:
        client.get("/iam/policies/")
    baseline = len(before.captured_queries)
    for number in range(5):
        services.policy_create(actor=None, name=f"Grown {number}", document={
            "Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]})
    client.get("/iam/policies/")  # the new policies renewed the authorization stamp: reload once
    with django_assert_num_queries(baseline):
        page = client.get("/iam/policies/").content.decode()
    assert 'data-policy="Grown 4"' in page
