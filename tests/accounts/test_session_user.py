"""Every signed-in request reads its user by the session's id (accounts.backends.PolicyBackend.get_user):
the same answers as Django's ModelBackend, by a query compiled once per process (accounts.prepared)."""

import pytest
from django.contrib.auth.backends import ModelBackend

from accounts.backends import PolicyBackend
from accounts.models import User


def test_the_session_user_is_django_backends_answer_without_a_queryset_per_request(demo, monkeypatch):
    viewer = User.objects.get(username="viewer")
    expected = ModelBackend().get_user(viewer.pk)
    monkeypatch.setattr(type(User._default_manager), "get", lambda *args, **kwargs: pytest.fail("a queryset"))
    found = PolicyBackend().get_user(viewer.pk)
    assert found == expected and found.username == "viewer" and found.password == expected.password
    assert PolicyBackend().get_user(10**9) is None  # a session whose user was deleted: signed out


def test_a_deactivated_users_session_signs_them_out(client, demo):
    client.force_login(User.objects.get(username="viewer"), backend="accounts.backends.PolicyBackend")
    assert client.get("/images/").status_code == 200
    User.objects.filter(username="viewer").update(is_active=False)
    assert client.get("/images/").status_code == 302  # to the sign-in page
