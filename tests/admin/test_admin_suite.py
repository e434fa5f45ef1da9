"""The admin suite: every registered model's add, change, delete, bulk delete and actions, run as
the operator (allowed) and as an onlooker who may view everything (forbidden), with the audit
event of every allowed write and every refusal. A model registered without a spec here fails."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from accounts import services
from accounts.backends import action_for_permission
from accounts.models import AuditEvent, Grant, Policy, Project, Region, User, UserGroup
from images.models import Image

from .conftest import events, form_data

pytestmark = pytest.mark.usefixtures("demo")

DOCUMENT = json.dumps({"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]})
PASSWORD = "a-long-passphrase-1"
COVERED_ACTIONS = {"delete_selected"}


def new_image(**attributes) -> Image:
    defaults = {"name": f"suite-{uuid.uuid4().hex[:8]}", "project": Project.objects.get(name="cn-north-4"),
                "image_type": "private", "status": "active"}
    return Image.objects.create(**{**defaults, **attributes})


def new_grant() -> Grant:
    group = services.group_create(actor=None, name=f"suite-{uuid.uuid4().hex[:8]}")
    services.grant_attach(actor=None, group=group, policies=[Policy.objects.get(name="IMS ReadOnlyAccess")],
                          all_resources=True)
    return Grant.objects.get(group=group)


def empty_inline(prefix):
    return {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}


@dataclass
class Spec:
    """How to exercise one model's admin: a fresh target, what to post, how to see it worked."""

    make: Callable[[], object]
    add: Callable[[], dict] | None  # None: the admin offers no add
    added: Callable[[], bool] = lambda: False
    change: dict | None = None  # overrides of the posted change form; None: no change offered
    changed: Callable[[object], bool] = lambda obj: False
    delete: bool = True
    unchanged_fields: list[str] = field(default_factory=list)


SPECS = {
    User: Spec(
        make=lambda: services.user_create(actor=None, username=f"suite-{uuid.uuid4().hex[:8]}")[0],
        add=lambda: {"username": "suite-added", "password1": PASSWORD, "password2": PASSWORD},
        added=lambda: User.objects.filter(username="suite-added").exists(),
        change={"first_name": "Changed", "is_staff": "on"},
        changed=lambda user: (user.first_name, user.is_staff) == ("Changed", True),
        unchanged_fields=["first_name", "is_staff"],
    ),
    UserGroup: Spec(
        make=lambda: services.group_create(actor=None, name=f"suite-{uuid.uuid4().hex[:8]}"),
        add=lambda: {"name": "suite-added", "description": "", **empty_inline("memberships")},
        added=lambda: UserGroup.objects.filter(name="suite-added").exists(),
        change={"description": "Changed"},
        changed=lambda group: group.description == "Changed",
        unchanged_fields=["description"],
    ),
    Policy: Spec(
        make=lambda: services.policy_create(actor=None, name=f"suite-{uuid.uuid4().hex[:8]}", document=DOCUMENT),
        add=lambda: {"name": "suite-added", "description": "", "document": DOCUMENT},
        added=lambda: Policy.objects.filter(name="suite-added").exists(),
        change={"description": "Changed"},
        changed=lambda policy: (policy.description, policy.revision) == ("Changed", 2),
        unchanged_fields=["description", "revision"],
    ),
    Grant: Spec(
        make=new_grant,
        add=lambda: {"group": UserGroup.objects.get(name="viewers").pk, "all_resources": "on",
                     "policy": Policy.objects.get(name="IMS FullAccess").pk},
        added=lambda: Grant.objects.filter(group__name="viewers", policy__name="IMS FullAccess").exists(),
    ),
    AuditEvent: Spec(
        make=lambda: AuditEvent.objects.create(actor_name="system", action="iam:users:getUser"),
        add=None, delete=False,
    ),
    Region: Spec(
        make=lambda: services.region_create(actor=None, code=f"xx-suite-{uuid.uuid4().hex[:4]}", name="Suite"),
        add=lambda: {"code": "xx-added-1", "name": "Added"},
        added=lambda: Project.objects.filter(name="xx-added-1", region__code="xx-added-1").exists(),
        change={"name": "Changed"},
        changed=lambda region: region.name == "Changed",
        delete=False,
        unchanged_fields=["name"],
    ),
    Project: Spec(
        make=lambda: services.project_create(actor=None, region=Region.objects.get(code="eu-west-101"),
                                             name=f"eu-west-101_suite{uuid.uuid4().hex[:4]}"),
        add=lambda: {"name": "eu-west-101_added", "description": "",
                     "region": Region.objects.get(code="eu-west-101").pk},
        added=lambda: Project.objects.filter(name="eu-west-101_added").exists(),
        change={"description": "Changed"},
        changed=lambda project: project.description == "Changed",
        delete=False,
        unchanged_fields=["description"],
    ),
    Image: Spec(
        make=new_image,
        add=None,
        change={"description": "Changed", "min_disk": "80"},
        changed=lambda image: (image.description, image.min_disk) == ("Changed", 80),
        unchanged_fields=["description", "min_disk"],
    ),
}

def _provider():
    from federation.services import provider_create

    return provider_create(actor=None, name=f"suite-{uuid.uuid4().hex[:8]}", issuer="https://idp.example/o",
                           client_id="c", client_secret="never-shown")


def _federated_identity():
    from federation.models import FederatedIdentity

    provider = _provider()
    user = services.user_create(actor=None, username=f"suite-{uuid.uuid4().hex[:8]}", without_password=True)[0]
    return FederatedIdentity.objects.create(provider=provider, provider_name=provider.name, subject="s", user=user)


def _federation_specs():
    """Identity providers and the people they signed in: read-only in the admin (issue 20)."""
    from federation.models import FederatedIdentity, IdentityProvider

    return {IdentityProvider: Spec(make=_provider, add=None, delete=False),
            FederatedIdentity: Spec(make=_federated_identity, add=None, delete=False)}


def _export():
    from images.models import ImageExport

    image = new_image()
    return ImageExport.objects.create(image=image, project=image.project, file="exports/suite.qcow2",
                                      name="suite.qcow2", size=1, sha256="0" * 64, actor_name="system")


def _export_specs():
    """An image's exports: records of files written by the export service, read-only in the admin."""
    from images.models import ImageExport

    return {ImageExport: Spec(make=_export, add=None, delete=False)}


SPECS.update(_federation_specs())
SPECS.update(_export_specs())
MODELS = list(SPECS)


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def action_of(model, verb):
    return action_for_permission(f"{model._meta.app_label}.{verb}_{model._meta.model_name}")


def snapshot(obj, fields):
    fresh = type(obj).objects.get(pk=obj.pk)
    return {name: getattr(fresh, name) for name in fields}


def test_every_registered_model_has_a_spec_and_every_action_is_covered(rf: RequestFactory):
    assert set(admin.site._registry) == set(SPECS)
    request = rf.get("/admin/")
    request.user = User.objects.get(username="admin")
    for model, model_admin in admin.site._registry.items():
        assert set(model_admin.get_actions(request)) <= COVERED_ACTIONS, model


# Allowed: the operator ----------------------------------------------------------------------

@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.model_name)
def test_the_operator_adds_through_the_service_with_an_audit_event(operator, model):
    spec = SPECS[model]
    if spec.add is None:
        assert operator.get(url(model, "add")).status_code == 403
        assert operator.post(url(model, "add"), {}).status_code == 403
        return
    before = events(outcome="allowed", action=action_of(model, "add")).count()
    response = operator.post(url(model, "add"), spec.add())
    assert response.status_code == 302, response.content.decode()[:3000]
    assert spec.added()
    assert events(outcome="allowed", action=action_of(model, "add")).count() > before


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.model_name)
def test_the_operator_changes_through_the_service_with_an_audit_event(operator, model):
    spec = SPECS[model]
    obj = spec.make()
    page = operator.get(url(model, "change", obj.pk))
    assert page.status_code == 200
    if spec.change is None:
        assert b'name="_save"' not in page.content
        assert operator.post(url(model, "change", obj.pk), {"_save": "Save"}).status_code == 403
        return
    response = operator.post(url(model, "change", obj.pk), form_data(page, model._meta.model_name, **spec.change))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert spec.changed(type(obj).objects.get(pk=obj.pk))
    assert events(outcome="allowed", action=action_of(model, "change"), target_id=str(obj.pk)).exists()


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.model_name)
def test_the_operator_deletes_one_through_the_service_with_an_audit_event(operator, model):
    spec = SPECS[model]
    obj = spec.make()
    response = operator.post(url(model, "delete", obj.pk), {"post": "yes"}, follow=True)
    if not spec.delete:
        assert response.status_code == 403
        assert type(obj).objects.filter(pk=obj.pk).exists()
        return
    assert "deleted successfully" in response.content.decode()
    assert not type(obj).objects.filter(pk=obj.pk).exists()
    target = obj.group if model is Grant else obj
    assert events(outcome="allowed", action=action_of(model, "delete"), target_id=str(target.pk)).exists()


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.model_name)
def test_the_operator_bulk_deletes_after_confirming_through_the_service(operator, model):
    spec = SPECS[model]
    objects = [spec.make(), spec.make()]
    selection = {"action": "delete_selected", "_selected_action": [str(o.pk) for o in objects]}
    confirmation = operator.post(url(model, "changelist"), selection, follow=True)
    assert confirmation.status_code == 200
    assert all(type(o).objects.filter(pk=o.pk).exists() for o in objects)
    response = operator.post(url(model, "changelist"), {**selection, "post": "yes"}, follow=True)
    html = response.content.decode()
    if not spec.delete:
        assert "nothing was changed" in html
        assert all(type(o).objects.filter(pk=o.pk).exists() for o in objects)
        return
    assert "Deleted 2" in html and "Refused" not in html
    assert not any(type(o).objects.filter(pk=o.pk).exists() for o in objects)
    targets = [str(o.group_id if model is Grant else o.pk) for o in objects]
    assert events(outcome="allowed", action=action_of(model, "delete"), target_id__in=targets).count() == 2


# Forbidden: the onlooker may view everything and change nothing -----------------------------

def _refused_and_audited(model, verb, since):
    action = action_of(model, verb)
    if action is None:  # audit events: no catalogue action writes them, so none is refused either
        return True
    return events(outcome="denied", action=action, actor__username="onlooker", pk__gt=since).exists()


def _last_event_id():
    last = AuditEvent.objects.order_by("-pk").first()
    return last.pk if last else 0


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.model_name)
def test_the_onlooker_sees_but_cannot_add(onlooker, model):
    spec = SPECS[model]
    assert onlooker.get(url(model, "changelist")).status_code == 200
    since = _last_event_id()
    assert onlooker.post(url(model, "add"), spec.add() if spec.add else {}).status_code == 403
    if spec.add:
        assert not spec.added()
        assert _refused_and_audited(model, "add", since)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.model_name)
def test_the_onlooker_cannot_change_and_nothing_changes(onlooker, operator_client_factory, model):
    spec = SPECS[model]
    obj = spec.make()
    page = onlooker.get(url(model, "change", obj.pk))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    before = snapshot(obj, spec.unchanged_fields)
    data = form_data(operator_client_factory().get(url(model, "change", obj.pk)), model._meta.model_name,
                     **(spec.change or {}))
    since = _last_event_id()
    assert onlooker.post(url(model, "change", obj.pk), data).status_code == 403
    assert snapshot(obj, spec.unchanged_fields) == before
    assert _refused_and_audited(model, "change", since)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.model_name)
def test_the_onlooker_cannot_delete_one_or_many(onlooker, model):
    spec = SPECS[model]
    objects = [spec.make(), spec.make()]
    since = _last_event_id()
    assert onlooker.post(url(model, "delete", objects[0].pk), {"post": "yes"}).status_code == 403
    response = onlooker.post(url(model, "changelist"), {
        "action": "delete_selected", "post": "yes", "_selected_action": [str(o.pk) for o in objects]}, follow=True)
    html = response.content.decode()
    assert "nothing was changed" in html and not re.search(r"Deleted \d|successfully", html)
    assert all(type(o).objects.filter(pk=o.pk).exists() for o in objects)
    assert _refused_and_audited(model, "delete", since)


@pytest.fixture
def operator_client_factory(demo):
    """A second client signed in as the operator, to read the form an onlooker would forge."""
    from django.test import Client

    def make():
        client = Client()
        client.force_login(User.objects.get(username="admin"))
        return client

    return make


# Never 500 ---------------------------------------------------------------------------------

# Django admin answers every method but POST as a GET: one of them stands for the others.
METHODS = ["get", "post", "delete"]


def _admin_paths():
    paths = []
    for model, spec in SPECS.items():
        obj = spec.make()
        paths += [url(model, "changelist"), url(model, "add")]
        paths += [url(model, view, obj.pk) for view in ("change", "delete", "history")]
    paths.append(reverse("admin:auth_user_password_change", args=[User.objects.get(username="viewer").pk]))
    return paths


@pytest.mark.sweep
@pytest.mark.parametrize("who", ["admin", "onlooker", "viewer", None])
def test_no_admin_page_answers_500_to_any_method_or_persona(client, onlooker_user, who):
    """Every admin page of every model, with every method, as the operator, the onlooker, a
    non-staff user and anonymous: an answer below 500 (the test client raises on a 500)."""
    if who:
        client.force_login(User.objects.get(username=who))
    answers = {(path, method): getattr(client, method)(path).status_code
               for path in _admin_paths() for method in METHODS}
    assert all(status < 500 for status in answers.values())
    if who in ("viewer", None):  # not staff: the admin's door stays shut
        assert {status for status in answers.values()} <= {302, 403}, answers
