"""Django admin never says two contradicting things: a refused delete shows only the refusal."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import User

from .test_admin_state_rules import SUCCESS, messages_of, security_admin  # noqa: F401

pytestmark = pytest.mark.usefixtures("demo")


def test_a_refused_delete_of_the_last_administrator_shows_one_message(security_admin):  # noqa: F811
    admin = User.objects.get(username="admin")
    response = security_admin.post(reverse("admin:accounts_user_delete", args=[admin.pk]), {"post": "yes"},
                                   follow=True)
    shown = messages_of(response)
    assert len(shown) == 1 and shown[0].startswith("admin was not deleted:"), shown
    assert not SUCCESS.search(response.content.decode())
    assert User.objects.filter(pk=admin.pk).exists()
