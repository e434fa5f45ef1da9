"""Each image operation is declared once (images/operations.py): its form, its service call and its message
travel with it, so no view dispatches by name, and a name that is not declared is a 404 that calls no service."""

import pytest

from accounts.models import AuditEvent
from images import services
from images.models import Image
from images.operations import OPERATIONS, OPERATIONS_BY_NAME, Done, Operation, always_applies
from images.urls import urlpatterns

pytestmark = pytest.mark.usefixtures("demo")

UBUNTU_00 = "cn-north-4-ubuntu-system-00"


@pytest.fixture
def service_calls(monkeypatch):
    """Every image service, replaced by a recorder: the names of those called."""
    called = []
    for name in dir(services):
        if name.startswith("image_") and callable(getattr(services, name)):
            monkeypatch.setattr(services, name, lambda *args, _name=name, **kwargs: called.append(_name))
    return called


@pytest.mark.urls("tests.images.urls_any_operation")
@pytest.mark.parametrize("name", ["frobnicate", "delete-all", "bulk"])
def test_an_undeclared_operation_is_404_and_calls_no_service(as_user, image_id, service_calls, name):
    client = as_user("ims-admin")
    events = AuditEvent.objects.count()
    response = client.post(f"/any-operation/{image_id(UBUNTU_00)}/{name}/?project=cn-north-4")
    assert response.status_code == 404
    assert service_calls == []
    assert Image.objects.filter(name=UBUNTU_00, status="active").exists()
    assert AuditEvent.objects.count() == events


def test_an_undeclared_bulk_operation_is_404_and_calls_no_service(as_user, image_id, service_calls):
    response = as_user("ims-admin").post("/images/bulk/frobnicate/?project=cn-north-4",
                                         {"ids": [str(image_id(UBUNTU_00))]})
    assert response.status_code == 404
    assert service_calls == []


@pytest.mark.urls("tests.images.urls_any_operation")
def test_a_new_operation_runs_its_own_call_and_no_other(as_user, image_id, service_calls, monkeypatch):
    """An operation added to OPERATIONS does what it declares: no branch elsewhere can turn it into another
    operation (the old dispatch deleted the image for any name it did not know)."""
    performed = []

    def frobnicate(actor, image, project, data):
        performed.append((actor.username, image.name, project.name, data))
        return Done(f"{image.name} was frobnicated.")

    operation = Operation("frobnicate", "ims:images:update", "Frobnicate", lambda image, project: None, frobnicate,
                          applies=always_applies)
    monkeypatch.setitem(OPERATIONS_BY_NAME, "frobnicate", operation)
    response = as_user("ims-admin").post(f"/any-operation/{image_id(UBUNTU_00)}/frobnicate/?project=cn-north-4")
    assert response.status_code == 302
    assert performed == [("ims-admin", UBUNTU_00, "cn-north-4", {})]
    assert service_calls == []
    assert Image.objects.filter(name=UBUNTU_00, status="active").exists()


def test_each_declared_operation_has_its_url_and_its_own_call():
    names = [operation.name for operation in OPERATIONS]
    assert len(set(names)) == len(names)
    assert {pattern.name for pattern in urlpatterns} >= set(names)
    assert len({operation.perform for operation in OPERATIONS}) == len(OPERATIONS)
    for operation in OPERATIONS:
        assert operation.needs_input == (operation.form is not None)
        assert not (operation.bulk and operation.needs_input), operation.name  # a bulk run has no input
