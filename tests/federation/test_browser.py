"""Chromium end to end through the loopback provider: the providers page, the sign-in page's button,
the first sign-in (user created in the mapped group, seeing exactly that group's images), a claim
changed at the provider, a person no rule matches, a disabled provider's button gone."""

from __future__ import annotations

import pytest

from accounts.models import Membership, User, UserGroup
from federation import services
from federation.models import MappingRule
from tests.test_accessibility_browser import add_axe, axe_violations

from .conftest import CLIENT_ID, CLIENT_SECRET, PASSWORD
from .test_sign_in import ANA

pytestmark = pytest.mark.browser


def groups_of(subject: str) -> set[str]:
    return set(Membership.objects.filter(user__federated_identity__subject=subject)
               .values_list("group__name", flat=True))


def test_signing_in_with_the_provider_in_chromium(page, live_demo, oidc_provider, sign_in, screenshot):
    provider = services.provider_create(actor=None, name="Corp", issuer=oidc_provider.issuer, client_id=CLIENT_ID,
                                        client_secret=CLIENT_SECRET, scopes="openid email profile groups")
    services.rule_create(actor=None, provider=provider, claim="groups", operator=MappingRule.Operator.CONTAINS,
                         value="engineering", groups=[UserGroup.objects.get(name="developers")])
    services.rule_create(actor=None, provider=provider, claim="email", operator=MappingRule.Operator.EMAIL_DOMAIN,
                         value="ops.example", groups=[UserGroup.objects.get(name="viewers")])
    oidc_provider.register(f"{live_demo.url}/accounts/oidc/{provider.pk}/callback/")
    oidc_provider.behave(None)
    bo = {"sub": "bo-2", "email": "bo@elsewhere.example", "groups": ["sales"]}
    oidc_provider.people({"ana": ANA, "bo": bo})

    # The Security Administrator's providers page, and Test connection against the real provider.
    add_axe(page)  # every page below is also checked for WCAG 2.2 AA violations
    sign_in("iam-admin")
    page.goto(f"{live_demo.url}/iam/identity-providers/")
    assert page.locator("[data-provider=Corp]").is_visible()
    screenshot("federation-providers-list")
    assert axe_violations(page) == []
    page.click("text=Corp")
    page.click("[data-testid=test-connection]")
    page.wait_for_selector("[data-testid=findings]")
    assert "Failed:" not in page.inner_text("[data-testid=findings]")
    page.fill("textarea[name=claims]", '{"sub": "x", "groups": ["engineering"], "email": "x@ops.example"}')
    page.click("[data-testid=preview-form] button[type=submit]")
    assert "Would sign in, in developers, viewers." in page.inner_text("[data-testid=preview-groups]")
    screenshot("federation-provider-detail")
    assert axe_violations(page) == []
    rule = provider.rules.get(position=1)
    for path in (f"/iam/identity-providers/{provider.pk}/edit/", f"/iam/identity-providers/rules/{rule.pk}/edit/",
                 f"/iam/identity-providers/{provider.pk}/delete/", "/iam/identity-providers/new/"):
        page.goto(live_demo.url + path)
        assert axe_violations(page) == [], path
    screenshot("federation-provider-new")
    page.goto(f"{live_demo.url}/iam/identity-providers/{provider.pk}/edit/")
    assert page.get_by_label("Trust the provider's MFA (amr claim)").is_visible()
    screenshot("federation-provider-edit")
    page.context.clear_cookies()

    # The sign-in page: a button per active provider; through the provider and back.
    page.goto(f"{live_demo.url}/accounts/login/")
    screenshot("federation-sign-in-page")
    assert axe_violations(page) == []
    page.click("text=Sign in with Corp")
    page.wait_for_url(f"{oidc_provider.base}/accounts/login/**")
    page.fill("#id_username", "ana")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_demo.url}/**")
    page.wait_for_selector("[data-testid=current-user]")  # signed in (not "network idle": pages may poll)
    ana = User.objects.get(federated_identity__subject="ana-0001")
    assert groups_of("ana-0001") == {"developers"} and not ana.has_usable_password()
    page.goto(f"{live_demo.url}/images/?project=cn-north-4_dev")
    assert page.locator("tr[data-image-id]").count() > 0
    screenshot("federation-first-sign-in-images")
    page.goto(f"{live_demo.url}/images/?project=cn-north-4")
    assert page.locator("tr[data-image-id]").count() == 0

    # A claim changed at the provider: the groups follow at the next sign-in.
    oidc_provider.people({"ana": {**ANA, "groups": ["sales"], "email": "ana@ops.example"}, "bo": bo})
    page.context.clear_cookies()
    page.goto(f"{live_demo.url}/accounts/login/")
    page.click("text=Sign in with Corp")
    page.fill("#id_username", "ana")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_demo.url}/**")
    assert groups_of("ana-0001") == {"viewers"}

    # A person no rule matches is turned away with a clear page.
    page.context.clear_cookies()
    page.goto(f"{live_demo.url}/accounts/login/")
    page.click("text=Sign in with Corp")
    page.fill("#id_username", "bo")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_demo.url}/**")
    page.wait_for_selector("[data-testid=signin-refused]")
    assert "no mapping rule of Corp matches you" in page.inner_text("[data-testid=refusal-reason]")
    screenshot("federation-turned-away")
    assert axe_violations(page) == []
    assert not User.objects.filter(federated_identity__subject="bo-2").exists()

    # Disabled while someone is signing in at the provider: its callback refuses them; the button is gone.
    page.context.clear_cookies()
    page.goto(f"{live_demo.url}/accounts/login/")
    page.click("text=Sign in with Corp")
    page.wait_for_url(f"{oidc_provider.base}/accounts/login/**")
    services.provider_set_active(actor=None, provider=provider, active=False)
    page.fill("#id_username", "ana")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_demo.url}/**")
    page.wait_for_selector("[data-testid=signin-refused]")
    assert "sign-in with Corp is disabled" in page.inner_text("[data-testid=refusal-reason]")
    assert page.get_by_test_id("current-user").count() == 0
    screenshot("federation-disabled-callback-refused")
    page.goto(f"{live_demo.url}/accounts/login/")
    assert page.locator("text=Sign in with Corp").count() == 0
