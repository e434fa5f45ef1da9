"""An access request's life (issue 21), through the services: ask, approve, use, expire; ask, deny;
self-approval refused; an approver who does not hold it refused; asking for what one holds answered at
once; an undecided request lapses (and `manage.py expire_grants` marks it)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from accounts import authz
from accounts.models import AccessRequest, AuditEvent, Grant
from accounts.services import access_requests as service
from accounts.who_can import Directory, who_can

from .conftest import T0, ask_delete, frozen, group, policy, project, user

pytestmark = pytest.mark.usefixtures("demo")
Status = AccessRequest.Status


def allowed(name, action, where=None):
    someone = user(name)
    authz.forget(someone)
    return authz.decide(someone, action, project=project(where) if where else None).allowed


def test_ask_approve_use_and_the_grant_ends(at_t0, django_capture_on_commit_callbacks):
    assert not allowed("viewer", "ims:images:delete", "cn-north-4")
    with django_capture_on_commit_callbacks(execute=True):
        asked = ask_delete()
    assert asked.status == Status.PENDING and asked.expires_at == T0 + service.request_ttl()
    # Those who could grant it are told: admin (holds everything), not iam-admin (holds no image permission).
    told = mail.outbox[-1]
    assert told.to == ["admin@example.test"] and "viewer asks for ims:images:delete on cn-north-4" in told.body
    assert AuditEvent.objects.filter(action="iam:accessRequests:create", target_id=str(asked.pk)).exists()

    with django_capture_on_commit_callbacks(execute=True):
        done = service.approve(actor=user("admin"), access_request=asked, duration=timedelta(hours=1))
    assert done.status == Status.APPROVED and done.decided_by_name == "admin"
    assert done.grant_expires == T0 + timedelta(hours=1) and done.group.name == "access-viewer"
    grant = Grant.objects.get(group__name="access-viewer", policy__name="Access request: ims:images:delete")
    assert grant.expires == T0 + timedelta(hours=1) and grant.scope_label == "cn-north-4"
    # Through the grant service: its audit event, by the approver.
    assert AuditEvent.objects.filter(action="iam:permissions:grantPermission", actor=user("admin"),
                                     target_repr="Access request: ims:images:delete → access-viewer").exists()
    assert AuditEvent.objects.filter(action="iam:accessRequests:approve", target_id=str(asked.pk)).exists()
    # Requester told (the e-mail names the end).
    assert mail.outbox[-1].to == ["viewer@example.test"] and "approved by admin" in mail.outbox[-1].body

    assert allowed("viewer", "ims:images:delete", "cn-north-4")
    assert not allowed("viewer", "ims:images:delete", "ap-southeast-1")  # only where asked
    # Who-can sees the per-person group.
    names = [member.username for member, _ in who_can("ims:images:delete", project("cn-north-4"),
                                                       directory=Directory()).allowed]
    assert "viewer" in names

    with frozen(T0 + timedelta(hours=1, seconds=1)):
        assert not allowed("viewer", "ims:images:delete", "cn-north-4")


def test_ask_then_deny_with_a_reason(at_t0, django_capture_on_commit_callbacks):
    asked = ask_delete()
    with pytest.raises(ValidationError) as error:
        service.deny(actor=user("admin"), access_request=asked, reason="  ")
    assert "reason" in error.value.message_dict
    with django_capture_on_commit_callbacks(execute=True):
        done = service.deny(actor=user("admin"), access_request=asked, reason="Use the staging project")
    assert done.status == Status.DENIED and done.decision_reason == "Use the staging project"
    assert not allowed("viewer", "ims:images:delete", "cn-north-4")
    assert not Grant.objects.filter(group__name="access-viewer").exists()
    assert any("denied" in m.subject for m in mail.outbox) and "Use the staging project" in mail.outbox[-1].body
    with pytest.raises(ValidationError, match="no longer pending"):
        service.approve(actor=user("admin"), access_request=asked)


def test_the_requester_cannot_approve_their_own_request(at_t0):
    asked = ask_delete(requester="iam-admin")  # holds every IAM action, no image
    with pytest.raises(PermissionDenied, match="your own"):
        service.approve(actor=user("iam-admin"), access_request=asked)
    asked.refresh_from_db()
    assert asked.status == Status.PENDING
    assert AuditEvent.objects.filter(action="iam:accessRequests:approve", outcome="denied",
                                     actor=user("iam-admin")).exists()


def test_an_approver_who_does_not_hold_it_is_refused(at_t0):
    asked = ask_delete()
    # iam-admin may approve requests and grant, but holds no image permission: no escalation.
    with pytest.raises(PermissionDenied, match="ims:images:delete on cn-north-4"):
        service.approve(actor=user("iam-admin"), access_request=asked)
    # ims-admin holds the permission but may not grant.
    with pytest.raises(PermissionDenied, match="iam:accessRequests:approve"):
        service.approve(actor=user("ims-admin"), access_request=asked)
    asked.refresh_from_db()
    assert asked.status == Status.PENDING
    assert not Grant.objects.filter(group__name="access-viewer").exists()
    assert not allowed("viewer", "ims:images:delete", "cn-north-4")


def test_shortening_only_and_never_longer_than_asked(at_t0):
    asked = ask_delete(hours=8)
    with pytest.raises(ValidationError, match="At most 8 hours"):
        service.approve(actor=user("admin"), access_request=asked, duration=timedelta(days=1))
    done = service.approve(actor=user("admin"), access_request=asked, duration=timedelta(hours=8))
    assert done.grant_expires == T0 + timedelta(hours=8)


def test_asking_for_what_one_holds_is_answered_at_once(at_t0):
    asked = service.ask(actor=user("viewer"), policy=policy("IMS ReadOnlyAccess"), all_resources=True,
                        duration=timedelta(hours=1), justification="Just in case")
    assert asked.status == Status.ANSWERED and "already hold" in asked.decision_reason
    assert not AccessRequest.objects.filter(status=Status.PENDING).exists()


def test_asking_for_what_a_deny_refuses_is_answered_at_once(at_t0):
    asked = service.ask(actor=user("developer"), action="ims:images:delete", project=project("cn-north-4_dev"),
                        duration=timedelta(hours=1), justification="Delete a test image")
    assert asked.status == Status.ANSWERED and "A Deny statement refuses you" in asked.decision_reason


def test_an_undecided_request_lapses_and_expire_grants_marks_it(django_capture_on_commit_callbacks):
    with frozen(T0):
        asked = ask_delete()
    later = T0 + service.request_ttl() + timedelta(seconds=1)
    with frozen(later):
        with pytest.raises(ValidationError, match="lapsed"):
            service.approve(actor=user("admin"), access_request=asked)
        out = StringIO()
        with django_capture_on_commit_callbacks(execute=True):
            call_command("expire_grants", stdout=out)
    asked.refresh_from_db()
    assert asked.status == Status.EXPIRED
    assert "1 undecided access request expired." in out.getvalue()
    assert AuditEvent.objects.filter(action="iam:accessRequests:deny", message="expired",
                                     target_id=str(asked.pk)).exists()


def test_bad_input_is_refused_on_its_field(at_t0):
    with pytest.raises(ValidationError) as error:
        service.ask(actor=user("viewer"), action="ims:images:delete", project=project("cn-north-4"),
                    duration=timedelta(hours=1), justification="")
    assert "justification" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        service.ask(actor=user("viewer"), action="ims:images:delete", duration=timedelta(hours=1), justification="x")
    assert "project" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        service.ask(actor=user("viewer"), action="ims:images:nope", project=project("cn-north-4"),
                    duration=timedelta(hours=1), justification="x")
    assert "action" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        ask_delete(hours=24 * 8)
    assert "duration" in error.value.message_dict


def test_an_iam_action_is_asked_on_all_resources_and_a_deny_closes_asking(at_t0):
    asked = service.ask(actor=user("viewer"), action="iam:users:listUsers", project=project("cn-north-4"),
                        duration=timedelta(hours=1), justification="Audit")
    assert asked.all_resources and asked.project is None and asked.scope_label == "All resources"
    done = service.approve(actor=user("iam-admin"), access_request=asked)
    assert done.status == Status.APPROVED and allowed("viewer", "iam:users:listUsers")

    from accounts import services

    no_asking = services.policy_create(actor=None, name="NoAsking", document={
        "Version": "1.1", "Statement": [{"Effect": "Deny", "Action": ["iam:accessRequests:create"]}]})
    services.grant_attach(actor=None, group=group("viewers"), policies=[no_asking], all_resources=True)
    authz.forget(user("viewer"))
    with pytest.raises(PermissionDenied):
        ask_delete()
    assert AuditEvent.objects.filter(action="iam:accessRequests:create", outcome="denied").exists()


def test_a_role_brings_its_dependencies_and_an_approver_must_hold_them(at_t0):
    asked = service.ask(actor=user("viewer"), policy=policy("Server Administrator"), project=project("cn-north-4"),
                        duration=timedelta(hours=1), justification="Rebuild images")
    pairs = service.handover(asked)
    assert ("ecs:*:*" not in {a for a, _ in pairs})  # catalogued actions only
    assert ("ims:images:export", "cn-north-4") in pairs  # from IMS Administrator, a dependency
    done = service.approve(actor=user("admin"), access_request=asked)
    names = set(Grant.objects.filter(group=done.group).values_list("policy__name", flat=True))
    assert names == {"Server Administrator", "IMS Administrator", "Tenant Administrator"}
