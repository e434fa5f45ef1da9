"""The image services: permission first, the same state rules as the buttons, an audit event for each write."""

import pytest
from django.core.exceptions import ValidationError

from accounts.enforcement import Refused
from accounts.models import AuditEvent, Project, User
from images import services
from images.models import Image, ImageMember
from images.operations import PRIVATE_IMAGE_QUOTA

pytestmark = pytest.mark.usefixtures("demo")


def user(name):
    return User.objects.get(username=name)


def image(name):
    return Image.objects.select_related("project__region").get(name=name)


def last_event(target):
    return AuditEvent.objects.filter(target_id=str(target.pk)).first()


def test_a_refusal_is_audited_and_changes_nothing():
    target = image("cn-north-4-dev-centos-system-00")
    with pytest.raises(Refused):
        services.image_delete(actor=user("developer"), image=target)
    assert Image.objects.filter(pk=target.pk).exists()
    event = last_event(target)
    assert (event.action, event.outcome, event.actor_name) == ("ims:images:delete", "denied", "developer")


def test_delete_removes_the_image_and_the_audit_keeps_a_snapshot():
    target = image("cn-north-4-centos-data-01")
    pk = target.pk
    services.image_delete(actor=user("ims-admin"), image=target)
    assert not Image.objects.filter(pk=pk).exists()
    event = AuditEvent.objects.filter(target_id=str(pk)).first()
    assert event.details["before"]["name"] == "cn-north-4-centos-data-01"
    assert event.details["before"]["tags"] == {"env": "dev", "team": "team-0"}
    assert event.details["members"] == ["ap-southeast-1"]


def test_state_rules_hold_in_the_service_too():
    with pytest.raises(ValidationError, match="Protected images cannot be deleted"):
        services.image_delete(actor=user("ims-admin"), image=image("cn-north-4-windows-data-04"))
    with pytest.raises(ValidationError, match="Encrypted images cannot be shared"):
        services.image_share_add(actor=user("ims-admin"), image=image("cn-north-4-centos-data-07"),
                                 members=[Project.objects.get(name="eu-west-101")])


def test_modify_records_what_changed():
    target = image("cn-north-4-centos-data-01")
    services.image_update(actor=user("ims-admin"), image=target, name="renamed", min_ram=4096,
                          expected_revision=target.revision)
    assert last_event(target).details == {"before": {"name": "cn-north-4-centos-data-01", "min_ram": 2048},
                                          "after": {"name": "renamed", "min_ram": 4096}}


def test_replicate_across_regions_makes_an_active_private_copy_and_audits_both():
    source = image("cn-north-4-centos-data-01")
    copy = services.image_replicate(actor=user("ims-admin"), image=source,
                                    target=Project.objects.get(name="eu-west-101"))
    assert (copy.project.name, copy.status, copy.image_type, copy.source_id) == (
        "eu-west-101", "active", "private", source.pk)
    assert {t.key for t in copy.tags.all()} == {"env", "team"}
    assert last_event(source).details["after"]["target"] == "eu-west-101"
    assert last_event(copy).details["source"] == str(source.pk)


def test_export_writes_a_manifest_to_storage_and_records_the_path(media_in_tmp):
    source = image("cn-north-4-centos-data-01")
    path = services.image_export(actor=user("ims-admin"), image=source).file.name
    assert path.startswith("exports/") and (media_in_tmp / path).exists()
    assert last_event(source).details["path"] == path


def test_share_accept_and_reject_from_the_consumer_project():
    owner_image = image("eu-west-101-euleros-system-06")
    dev = Project.objects.get(name="cn-north-4_dev")
    services.image_share_add(actor=user("ims-admin"), image=owner_image, members=[dev])
    owner_image = Image.objects.prefetch_related("members").get(pk=owner_image.pk)
    services.image_share_accept(actor=user("developer"), image=owner_image, project=dev)
    assert ImageMember.objects.get(image=owner_image, project=dev).status == "accepted"
    with pytest.raises(ValidationError, match="awaiting acceptance"):
        services.image_share_reject(actor=user("developer"), image=owner_image, project=dev)


def test_the_quota_stops_creation(monkeypatch):
    project = Project.objects.get(name="eu-west-101")
    monkeypatch.setattr("images.services.private_image_count", lambda project: PRIVATE_IMAGE_QUOTA)
    with pytest.raises(ValidationError, match="quota of 100 private images"):
        services.image_create(actor=user("ims-admin"), project=project, kind="system", name="one too many")
