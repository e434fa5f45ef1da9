"""Policy history, who-can and the role dependency picture in Chromium, with screenshots."""

import pytest
from playwright.sync_api import expect

from accounts import authz, services
from accounts.management.commands.seed_demo import demo_id
from accounts.models import Grant, Membership, Policy, User, UserGroup

pytestmark = pytest.mark.browser

DOCUMENT = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]},
                                            {"Effect": "Deny", "Action": ["ims:images:export"]}]}
CHANGED = {"Version": "1.1", "Statement": [
    {"Effect": "Allow", "Action": ["ims:images:list", "ims:images:delete"]},
    {"Effect": "Deny", "Action": ["ims:images:export"],
     "Condition": {"StringEquals": {"ims:ResourceTag/env": ["prod"]}}}]}


def test_diff_view_and_restore(page, live_demo, sign_in, screenshot):
    page.set_default_timeout(8_000)
    admin = User.objects.get(username="admin")
    policy = services.policy_create(actor=admin, name="Release images", description="v1", document=DOCUMENT)
    services.policy_update(actor=admin, policy=policy, name=policy.name, description="v2", document=CHANGED,
                           expected_revision=1)
    sign_in("admin")
    page.goto(f"{live_demo.url}/iam/policies/{policy.pk}/")
    page.get_by_test_id("history-link").click()
    expect(page.get_by_test_id("statement-changes")).to_contain_text(
        "Statement 1 now also allows ims:images:delete.")
    expect(page.get_by_test_id("statement-changes")).to_contain_text(
        "Statement 2: condition StringEquals ims:ResourceTag/env = prod added.")
    added = page.locator("table.diff tr[data-change=added]")
    expect(added.first).to_contain_text("added")
    expect(page.locator("table.diff tr[data-change=removed]").first).to_contain_text("removed")
    screenshot("policy-history-diff")

    page.locator('tr[data-revision="1"] >> text=Restore…').click()
    expect(page.get_by_test_id("restore-groups")).to_contain_text("No group holds Release images")
    expect(page.get_by_test_id("statement-changes")).to_contain_text("Statement 1 no longer allows ims:images:delete.")
    screenshot("policy-restore-review")
    page.get_by_test_id("confirm-restore").click()
    expect(page.locator('tr[data-revision="3"]')).to_contain_text("restores 1")
    policy.refresh_from_db()
    assert policy.revision == 3 and policy.document == DOCUMENT


def test_restore_review_of_an_attached_policy_lists_changed_decisions(page, live_demo, sign_in, screenshot):
    page.set_default_timeout(8_000)
    policy = Policy.objects.get(name="DenyImageDeletion")
    original = policy.document
    services.policy_update(actor=None, policy=policy, name=policy.name, description="",
                           document={"Version": "1.1", "Statement": [{"Effect": "Deny",
                                                                      "Action": ["ims:images:export"]}]},
                           expected_revision=policy.revision)
    policy.refresh_from_db()
    first = policy.revisions.order_by("number").first()
    assert first.document == original
    sign_in("admin")
    page.goto(f"{live_demo.url}/iam/policies/{policy.pk}/restore/?number={first.number}")
    impact = page.get_by_test_id("restore-impact")
    developers = impact.locator('[data-testid="impact-group"][data-groups="developers"]')
    expect(developers).to_contain_text("Members of developers (1 user)")
    expect(developers.locator('[data-user="developer"]')).to_be_visible()
    expect(developers.locator('li[data-action="ims:images:delete"]')).to_contain_text("lose")
    expect(developers.locator('li[data-action="ims:images:delete"]')).to_contain_text("in cn-north-4_dev")
    expect(developers.locator('li[data-action="ims:images:export"]')).to_contain_text("gain")
    expect(page.get_by_test_id("restore-groups")).to_contain_text("developers")
    screenshot("policy-restore-impact")


def test_restore_review_groups_many_members(page, live_demo, sign_in, screenshot):
    """Forty members of two groups: one line per group of members who change alike, 20 names and a count."""
    page.set_default_timeout(8_000)
    policy = Policy.objects.get(name="DenyImageDeletion")
    services.policy_update(actor=None, policy=policy, name=policy.name, description="", document=CHANGED,
                           expected_revision=policy.revision)
    policy.refresh_from_db()
    first = policy.revisions.order_by("number").first()
    developers = UserGroup.objects.get(name="developers")
    testers = UserGroup.objects.create(name="testers")
    Grant.objects.create(group=testers, policy=policy, all_resources=True)
    for number in range(40):
        user = User.objects.create_user(f"member-{number:02d}", password="x")
        Membership.objects.create(user=user, group=developers if number % 2 else testers)
    authz.bump_stamp()
    sign_in("admin")
    page.goto(f"{live_demo.url}/iam/policies/{policy.pk}/restore/?number={first.number}")
    groups = page.get_by_test_id("impact-group")
    testers_box = page.locator('[data-testid="impact-group"][data-groups="testers"]')
    expect(testers_box).to_contain_text("Members of testers (20 users)")
    expect(testers_box.locator("[data-user]")).to_have_count(20)
    expect(page.locator('[data-testid="impact-group"][data-groups="developers"]')).to_contain_text("and 1 more")
    assert groups.count() == 2
    screenshot("policy-restore-impact-grouped")


def test_who_can_list_from_the_image_page(page, live_demo, sign_in, screenshot):
    page.set_default_timeout(8_000)
    sign_in("admin")
    image = demo_id("cn-north-4-dev-centos-system-00")
    page.goto(f"{live_demo.url}/images/{image}/?project=cn-north-4_dev")
    page.get_by_test_id("who-can-link").click()
    page.select_option("select[name=action]", "ims:images:delete")
    page.get_by_test_id("ask-who-can").click()
    allowed = page.get_by_test_id("who-can-allowed")
    expect(allowed.locator('tr[data-user="ims-admin"]')).to_be_visible()
    expect(allowed.locator('tr[data-user="developer"]')).to_have_count(0)
    denied = page.get_by_test_id("who-can-denied")
    expect(denied.locator('tr[data-user="developer"]')).to_contain_text("DenyImageDeletion")
    screenshot("who-can-image")

    page.goto(f"{live_demo.url}/iam/simulator/who-can/")
    page.select_option("select[name=action]", "ims:images:create")
    page.select_option("select[name=project]", "cn-north-4")
    page.get_by_test_id("ask-who-can").click()
    expect(page.get_by_test_id("who-can-allowed").locator('tr[data-user="north-ops"]')).to_be_visible()
    screenshot("who-can-simulator")


def test_role_dependency_picture(page, live_demo, sign_in, screenshot):
    page.set_default_timeout(8_000)
    sign_in("iam-admin")
    server = Policy.objects.get(name="Server Administrator")
    page.goto(f"{live_demo.url}/iam/policies/{server.pk}/")
    picture = page.get_by_test_id("dependency-picture")
    expect(picture.locator("svg")).to_be_visible()
    expect(picture.locator('[data-role="Tenant Administrator"]')).to_be_visible()
    expect(picture.locator("figcaption")).to_contain_text("Server Administrator needs IMS Administrator")
    box = picture.locator("svg").bounding_box()
    assert box["height"] > 100 and box["width"] >= 190  # three roles, one under the other
    picture.screenshot(path=str(screenshot("role-dependencies-page").with_name("role-dependencies-svg.png")))
    viewers = UserGroup.objects.get(name="viewers")
    page.goto(f"{live_demo.url}/iam/groups/{viewers.pk}/permissions/attach/")
    page.check(f'input[name=policies][value="{server.pk}"]')
    page.check('input[name=scope][value="all"]')
    page.get_by_role("button", name="Next: review").click()
    expect(page.get_by_test_id("attach-review").get_by_test_id("dependency-picture")).to_be_visible()
    screenshot("attach-review-dependencies")
