"""Attaching roles brings their dependencies; detaching a needed dependency is refused (SPEC 7)."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts import services
from accounts.models import AuditEvent, Grant, Policy, Project, User, UserGroup


def scopes(group):
    return {
        g.policy.name: ("All resources" if g.all_resources else sorted(p.name for p in g.projects.all()))
        for g in Grant.objects.filter(group=group).select_related("policy").prefetch_related("projects")
    }


@pytest.fixture
def ops(demo):
    return services.group_create(actor=None, name="ops")


def test_attaching_server_administrator_attaches_its_dependencies_with_the_same_scope(ops):
    result = services.grant_attach(actor=None, group=ops, policies=[Policy.objects.get(name="Server Administrator")],
                                   all_resources=False, projects=[Project.objects.get(name="cn-north-4")])
    assert scopes(ops) == {
        "Server Administrator": ["cn-north-4"],
        "IMS Administrator": ["cn-north-4"],
        "Tenant Administrator": ["cn-north-4"],
    }
    assert [p.name for p in result.dependencies] == ["IMS Administrator", "Tenant Administrator"]
    assert "IMS Administrator" in result.message and "Tenant Administrator" in result.message


def test_the_seeded_north_ops_group_holds_the_dependencies(demo):
    assert scopes(UserGroup.objects.get(name="north-ops")) == {
        "Server Administrator": ["cn-north-4"],
        "IMS Administrator": ["cn-north-4"],
        "Tenant Administrator": ["cn-north-4"],
    }


def test_detaching_a_needed_dependency_is_refused_and_names_the_dependents(demo):
    group = UserGroup.objects.get(name="north-ops")
    with pytest.raises(ValidationError) as refused:
        services.grant_detach(actor=None, group=group, policies=[Policy.objects.get(name="IMS Administrator")])
    assert "Server Administrator" in str(refused.value)
    assert "IMS Administrator" in scopes(group)


def test_detaching_with_the_dependents_in_the_same_step_works(demo):
    group = UserGroup.objects.get(name="north-ops")
    services.grant_detach(actor=None, group=group, policies=Policy.objects.filter(
        name__in=["Server Administrator", "IMS Administrator"]))
    assert scopes(group) == {"Tenant Administrator": ["cn-north-4"]}


def test_an_iam_only_policy_is_always_granted_on_all_resources(ops):
    services.grant_attach(actor=None, group=ops, policies=[Policy.objects.get(name="Security Administrator")],
                          all_resources=False, projects=[Project.objects.get(name="cn-north-4")])
    assert scopes(ops) == {"Security Administrator": "All resources"}


def test_a_project_scope_needs_projects(ops):
    with pytest.raises(ValidationError):
        services.grant_attach(actor=None, group=ops, policies=[Policy.objects.get(name="IMS FullAccess")],
                              all_resources=False, projects=[])
    assert scopes(ops) == {}


def test_attaching_again_widens_the_scope(ops):
    policy = Policy.objects.get(name="IMS ReadOnlyAccess")
    services.grant_attach(actor=None, group=ops, policies=[policy], all_resources=False,
                          projects=[Project.objects.get(name="cn-north-4")])
    services.grant_attach(actor=None, group=ops, policies=[policy], all_resources=False,
                          projects=[Project.objects.get(name="eu-west-101")])
    assert scopes(ops) == {"IMS ReadOnlyAccess": ["cn-north-4", "eu-west-101"]}


def test_a_user_cannot_grant_without_iam_permission_and_the_refusal_is_audited(ops):
    ims_admin = User.objects.get(username="ims-admin")
    with pytest.raises(PermissionDenied):
        services.grant_attach(actor=ims_admin, group=ops, policies=[Policy.objects.get(name="IMS FullAccess")],
                              all_resources=True)
    assert scopes(ops) == {}
    event = AuditEvent.objects.filter(action="iam:permissions:grantPermission").first()
    assert event.outcome == "denied" and event.actor_name == "ims-admin"


def test_the_last_active_admin_cannot_leave_or_be_deactivated(demo):
    admin_group = UserGroup.objects.get(name="admin")
    admin = User.objects.get(username="admin")
    with pytest.raises(ValidationError):
        services.group_remove_member(actor=admin, group=admin_group, user=admin)
    with pytest.raises(ValidationError):
        services.user_update(actor=admin, user=admin, is_active=False)
    assert User.objects.get(username="admin").is_active


def test_system_policies_cannot_be_edited_or_deleted(demo):
    policy = Policy.objects.get(name="IMS FullAccess")
    with pytest.raises(ValidationError):
        services.policy_delete(actor=None, policy=policy)
    with pytest.raises(ValidationError):
        services.policy_update(actor=None, policy=policy, name=policy.name, description="x",
                               document=policy.document, expected_revision=policy.revision)


def test_a_custom_policy_in_use_cannot_be_deleted(demo):
    with pytest.raises(ValidationError, match="developers"):
        services.policy_delete(actor=None, policy=Policy.objects.get(name="DenyImageDeletion"))


def test_a_stale_policy_save_is_refused_and_keeps_the_newer_version(demo):
    policy = Policy.objects.get(name="DenyImageDeletion")
    first = {"Version": "1.1", "Statement": [{"Effect": "Deny", "Action": ["ims:images:export"]}]}
    second = {"Version": "1.1", "Statement": [{"Effect": "Deny", "Action": ["ims:images:copy"]}]}
    loaded = policy.revision
    services.policy_update(actor=None, policy=policy, name=policy.name, description="", document=first,
                           expected_revision=loaded)
    with pytest.raises(services.ConcurrentEditError):
        services.policy_update(actor=None, policy=policy, name=policy.name, description="", document=second,
                               expected_revision=loaded)
    assert Policy.objects.get(pk=policy.pk).document == first
