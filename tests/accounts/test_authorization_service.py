"""The authorization service: fixed query counts, caching, and changes seen on the next request."""

import pytest

from accounts import authz, services
from accounts.models import Grant, Membership, Policy, Project, User, UserGroup


@pytest.fixture
def crowded_user(demo):
    """A user in 10 groups, each holding 20 policy grants (half scoped to a project)."""
    user = User.objects.create_user("crowded", password="x")
    project = Project.objects.get(name="cn-north-4")
    policies = Policy.objects.bulk_create(
        Policy(name=f"p{i}", document={"Version": "1.1", "Statement": [
            {"Effect": "Allow", "Action": ["ims:images:list"]}]}) for i in range(200)
    )
    for g in range(10):
        group = UserGroup.objects.create(name=f"crowd-{g}")
        Membership.objects.create(user=user, group=group)
        for p in policies[g * 20:(g + 1) * 20]:
            grant = Grant.objects.create(group=group, policy=p, all_resources=p.pk % 2 == 0)
            if not grant.all_resources:
                grant.projects.add(project)
    return User.objects.get(pk=user.pk)


def test_deciding_for_10_groups_of_20_grants_takes_a_small_constant_number_of_queries(
    crowded_user, django_assert_max_num_queries
):
    with django_assert_max_num_queries(4):
        assert authz.decide(crowded_user, "ims:images:list", project="cn-north-4").allowed
    assert len(authz.authorization_for(crowded_user).rules) == 200


def test_repeated_decisions_in_one_request_make_no_queries(crowded_user, django_assert_num_queries):
    authz.decide(crowded_user, "ims:images:list", project="cn-north-4")
    with django_assert_num_queries(0):
        for project in ("cn-north-4", "eu-west-101", None):
            for action in ("ims:images:list", "ims:images:delete", "iam:users:listUsers"):
                authz.decide(crowded_user, action, project=project)


def test_a_warm_process_cache_costs_one_query_per_request(crowded_user, django_assert_num_queries):
    authz.decide(crowded_user, "ims:images:list", project="cn-north-4")
    fresh = User.objects.get(pk=crowded_user.pk)  # the next request's user object
    with django_assert_num_queries(1):
        assert authz.decide(fresh, "ims:images:list", project="cn-north-4").allowed


def test_a_grant_change_is_seen_by_the_next_request(demo):
    viewer = User.objects.get(username="viewer")
    assert not authz.decide(viewer, "ims:images:delete", project="eu-west-101").allowed
    group = UserGroup.objects.get(name="viewers")
    services.grant_attach(actor=None, group=group, policies=[Policy.objects.get(name="IMS FullAccess")],
                          all_resources=False, projects=[Project.objects.get(name="eu-west-101")])
    next_request_user = User.objects.get(pk=viewer.pk)
    assert authz.decide(next_request_user, "ims:images:delete", project="eu-west-101").allowed
    assert not authz.decide(next_request_user, "ims:images:delete", project="cn-north-4").allowed


def test_a_membership_removal_is_seen_by_the_next_request(demo):
    viewer = User.objects.get(username="viewer")
    assert authz.decide(viewer, "ims:images:list", project="cn-north-4").allowed
    services.group_remove_member(actor=None, group=UserGroup.objects.get(name="viewers"), user=viewer)
    assert not authz.decide(User.objects.get(pk=viewer.pk), "ims:images:list", project="cn-north-4").allowed


def test_a_policy_edit_is_seen_by_the_next_request(demo):
    developer = User.objects.get(username="developer")
    assert not authz.decide(developer, "ims:images:delete", project="cn-north-4_dev").allowed
    policy = Policy.objects.get(name="DenyImageDeletion")
    services.policy_update(actor=None, policy=policy, name=policy.name, description="now denies export",
                           document={"Version": "1.1", "Statement": [
                               {"Effect": "Deny", "Action": ["ims:images:export"]}]},
                           expected_revision=policy.revision)
    fresh = User.objects.get(pk=developer.pk)
    assert authz.decide(fresh, "ims:images:delete", project="cn-north-4_dev").allowed
    assert authz.decide(fresh, "ims:images:export", project="cn-north-4_dev").outcome == "explicit_deny"


def test_a_deactivated_user_can_do_nothing(demo):
    user = User.objects.get(username="ims-admin")
    services.user_update(actor=None, user=user, is_active=False)
    assert not authz.decide(User.objects.get(pk=user.pk), "ims:images:list", project="cn-north-4").allowed


def test_anonymous_users_are_denied(demo):
    from django.contrib.auth.models import AnonymousUser

    assert authz.decide(AnonymousUser(), "ims:images:list", project="cn-north-4").outcome == "implicit_deny"


def test_has_perm_goes_through_the_policy_engine(demo):
    from images.models import Image

    developer = User.objects.get(username="developer")
    dev_image = Image.objects.filter(project__name="cn-north-4_dev").first()
    north_image = Image.objects.filter(project__name="cn-north-4", image_type="private").first()
    assert developer.has_perm("ims:images:update", dev_image)
    assert not developer.has_perm("ims:images:delete", dev_image)
    assert not developer.has_perm("ims:images:update", north_image)
    assert developer.has_perm("ims:images:list", Project.objects.get(name="cn-north-4_dev"))
    assert not developer.has_perm("accounts.view_user")
    assert User.objects.get(username="iam-admin").has_perm("accounts.change_policy")


def test_a_superuser_outside_the_admin_group_gets_only_what_grants_allow(demo):
    user = User.objects.create_superuser("root2", password="x")
    assert not user.has_perm("ims:images:delete", Project.objects.get(name="cn-north-4"))


def test_conditions_see_image_tags(demo):
    from images.models import Image

    policy = services.policy_create(actor=None, name="DenyProdDeletion", document={
        "Version": "1.1", "Statement": [
            {"Effect": "Allow", "Action": ["ims:images:*"]},
            {"Effect": "Deny", "Action": ["ims:images:delete"],
             "Condition": {"StringEquals": {"ims:ResourceTag/env": ["prod"]}}}]})
    group = services.group_create(actor=None, name="tagged")
    user = User.objects.create_user("tagged-user", password="x")
    services.group_add_member(actor=None, group=group, user=user)
    services.grant_attach(actor=None, group=group, policies=[policy], all_resources=True)
    prod = Image.objects.filter(tags__key="env", tags__value="prod", image_type="private").first()
    dev = Image.objects.filter(tags__key="env", tags__value="dev", image_type="private").first()
    assert authz.decide(user, "ims:images:delete", image=prod).outcome == "explicit_deny"
    assert authz.decide(user, "ims:images:delete", image=dev).allowed


def test_after_a_change_elsewhere_the_next_member_of_the_same_groups_costs_one_query_more(
    crowded_user, django_assert_num_queries
):
    """Every change bumps the one stamp (make loadtest's administrator flips a grant every second), and a
    request after it recompiles: the groups' grants are compiled once per process for all their members."""
    twin = User.objects.create_user("crowded-twin", password="x")
    Membership.objects.bulk_create(Membership(user=twin, group=m.group) for m in crowded_user.memberships.all())
    outsider = UserGroup.objects.create(name="elsewhere")
    services.grant_attach(actor=None, group=outsider, policies=[Policy.objects.get(name="IMS FullAccess")],
                          all_resources=True)  # bumps the stamp: nothing the crowd holds
    assert authz.decide(crowded_user, "ims:images:list", project="cn-north-4").allowed
    twin = User.objects.get(pk=twin.pk)
    with django_assert_num_queries(2):  # the stamp, the twin's groups
        decision = authz.decide(twin, "ims:images:list", project="cn-north-4")
    assert decision.allowed and len(authz.authorization_for(twin).rules) == 200
    assert authz.authorization_for(twin).grants.username == "crowded-twin"
    assert not authz.decide(twin, "ims:images:delete", project="cn-north-4").allowed


def test_members_of_the_same_groups_are_decided_apart_when_one_is_inactive_or_admin(demo):
    viewer = User.objects.get(username="viewer")
    other = User.objects.create_user("viewer-2", password="x")
    Membership.objects.create(user=other, group=UserGroup.objects.get(name="viewers"))
    assert authz.decide(viewer, "ims:images:list", project="cn-north-4").allowed
    other.is_active = False
    other.save()
    assert not authz.decide(User.objects.get(pk=other.pk), "ims:images:list", project="cn-north-4").allowed
    Membership.objects.create(user=other, group=UserGroup.objects.get(name="admin"))
    other = User.objects.get(pk=other.pk)
    other.is_active = True
    other.save()
    assert authz.decide(User.objects.get(pk=other.pk), "iam:users:createUser").allowed
    assert not authz.decide(User.objects.get(pk=viewer.pk), "iam:users:createUser").allowed
