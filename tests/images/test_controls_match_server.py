"""A control is enabled if and only if the server accepts its request.

For every seeded persona and every project, the enabled controls drawn on the details page (and in
the list rows) are compared with the operations the server actually accepts, found by posting each
one inside a savepoint that is rolled back. A few answers are also written out by hand.
"""

import re
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from images.models import Image

from .conftest import iso_bytes, qcow2_bytes, vhd_fixed_bytes

pytestmark = pytest.mark.usefixtures("demo")

PERSONAS = ["admin", "iam-admin", "ims-admin", "viewer", "developer", "north-ops", "newcomer"]
PROJECTS = ["cn-north-4", "cn-north-4_dev", "ap-southeast-1", "eu-west-101"]
OPERATIONS = ["modify", "tags", "upload", "share", "unshare", "accept", "reject", "export", "replicate", "delete"]
ROW_OPERATIONS = set(OPERATIONS) - {"tags", "unshare"}

# Images seen from each project, chosen to cover the state rules: active, queued, protected, encrypted,
# ISO, public, marketplace, shared (pending and accepted). The tab each is listed in comes second.
SAMPLES = {
    "cn-north-4": [("cn-north-4-ubuntu-system-00", "private"), ("cn-north-4-windows-data-04", "private"),
                   ("eu-west-101-euleros-system-00", "awaiting")],
    "cn-north-4_dev": [("cn-north-4-dev-centos-system-00", "private"), ("cn-north-4-dev-windows-system-09", "private"),
                       ("cn-north-4-ubuntu-system-00", "shared")],
    "ap-southeast-1": [("ap-southeast-1-debian-system-00", "private"), ("ap-southeast-1-euleros-data-07", "private")],
    "eu-west-101": [("eu-west-101-centos-data-04", "private"), ("Market-Ubuntu-LAMP", "public")],
}


class ControlParser(HTMLParser):
    """Collects {operation: enabled} of every control, and per list row the enabled operations."""

    def __init__(self):
        super().__init__()
        self.controls: dict[str, bool] = {}
        self.rows: dict[str, set[str]] = {}
        self._row = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "tr" and "data-image-id" in attributes:
            self._row = attributes["data-image-id"]
            self.rows[self._row] = set()
        operation = attributes.get("data-operation")
        if not operation:
            return
        assert attributes.get("data-action", "").startswith("ims:"), attributes
        enabled = attributes.get("aria-disabled") != "true" and "disabled" not in attributes
        self.controls[operation] = self.controls.get(operation, False) or enabled
        if self._row and enabled:
            self.rows[self._row].add(operation)

    def handle_endtag(self, tag):
        if tag == "tr":
            self._row = None


def parse(html: str) -> ControlParser:
    parser = ControlParser()
    parser.feed(html)
    return parser


def enabled(parser: ControlParser) -> set[str]:
    return {operation for operation, is_enabled in parser.controls.items() if is_enabled}


def disk_file(image: Image):
    builder = {"qcow2": qcow2_bytes, "iso": iso_bytes, "raw": lambda: b"\0" * 1024}.get(image.disk_format,
                                                                                        vhd_fixed_bytes)
    return SimpleUploadedFile(f"disk.{image.disk_format}", builder())


def payload(operation: str, image: Image) -> dict:
    """A valid request body for `operation` on `image`, as the details page would send it."""
    members = {m.project.name for m in image.members.all()}
    if operation == "modify":
        return {"name": image.name, "description": image.description, "os_version": image.os_version,
                "min_disk": image.min_disk, "min_ram": image.min_ram, "protected": "on" if image.protected else "",
                "revision": image.revision}
    if operation == "tags":
        return {"tags": "team=checked", "revision": image.revision}
    if operation == "upload":
        return {"file": disk_file(image)}
    if operation == "share":
        free = next(p for p in PROJECTS if p != image.project.name and p not in members)
        return {"projects": free}
    if operation == "unshare":
        return {"project": sorted(members)[0] if members else "eu-west-101"}
    if operation == "replicate":
        return {"target": image.project.name}
    return {}


def accepted(client, url: str, data: dict) -> bool:
    """Post and roll back: whether the server carried the operation out (it redirects on success)."""
    with transaction.atomic():
        response = client.post(url, data)
        transaction.set_rollback(True)
    assert response.status_code in (302, 204, 403, 404, 409, 422), (url, response.status_code)
    return response.status_code in (302, 204)


def work_in(client, project: str) -> None:
    """Make `project` the client's current project (what the switcher does)."""
    session = client.session
    session["images_project"] = project
    session.save()


@pytest.mark.sweep  # every operation on every sample for every persona and project: make test and CI, not the fast lane
@pytest.mark.parametrize("persona", PERSONAS)
def test_enabled_controls_are_exactly_the_operations_the_server_accepts(as_user, persona):
    client = as_user(persona)
    images = {i.name: i for i in Image.objects.prefetch_related("members__project").select_related("project")}
    for project in PROJECTS:
        header = client.get(f"/images/?project={project}")
        rows = parse(header.content.decode()).rows
        for tab in {tab for _, tab in SAMPLES[project]} - {"private"}:
            rows.update(parse(client.get(f"/images/?project={project}&tab={tab}").content.decode()).rows)
        for kind in ("system", "data", "whole"):
            data = {"name": "check", "kind": kind, "os_type": "Linux", "platform": "Ubuntu", "os_bit": "64",
                    "architecture": "x86", "disk_format": "qcow2", "min_disk": "40", "min_ram": "1024"}
            assert (f"create-{kind}" in enabled(parse(header.content.decode()))) == accepted(
                client, "/images/create/", data), (persona, project, kind)
        for name, _ in SAMPLES[project]:
            image = images[name]
            work_in(client, project)
            page = client.get(f"/images/{image.pk}/")
            drawn = enabled(parse(page.content.decode())) if page.status_code == 200 else set()
            server = {op for op in OPERATIONS if accepted(client, f"/images/{image.pk}/{op}/", payload(op, image))}
            assert drawn == server, (persona, project, name)
            if str(image.pk) in rows:
                assert rows[str(image.pk)] == drawn & ROW_OPERATIONS, (persona, project, name)


def details_controls(client, project, name):
    work_in(client, project)
    image = Image.objects.get(name=name)
    return parse(client.get(f"/images/{image.pk}/").content.decode()).controls


# By hand from SPEC 8: {operation: enabled}; operations the engine denies are absent, and so are disabled
# ones that can never apply to the image as seen from the project (Accept on one's own image, Upload once a
# file arrived, Export of an ISO, anything but Accept/Reject on a pending share, everything on a public image).
@pytest.mark.parametrize(("persona", "project", "name", "expected"), [
    ("ims-admin", "cn-north-4", "cn-north-4-ubuntu-system-00",
     {"modify": True, "tags": True, "share": True, "unshare": True, "export": True, "replicate": True,
      "delete": True}),
    ("ims-admin", "cn-north-4", "cn-north-4-windows-data-04",  # protected, saving
     {"modify": False, "tags": True, "share": True, "export": False, "replicate": False, "delete": False}),
    ("ims-admin", "cn-north-4", "cn-north-4-centos-data-07",  # encrypted, active: never shared
     {"modify": True, "tags": True, "export": True, "replicate": True, "delete": True}),
    ("ims-admin", "cn-north-4", "eu-west-101-euleros-system-00",  # pending for cn-north-4
     {"accept": True, "reject": True}),
    ("developer", "cn-north-4_dev", "cn-north-4-dev-centos-system-00",  # no delete for developers
     {"modify": True, "tags": True, "share": True, "export": True, "replicate": True}),
    ("developer", "cn-north-4_dev", "cn-north-4-dev-windows-system-09",  # queued ISO: upload only
     {"modify": False, "tags": True, "upload": True, "share": True, "replicate": False}),
    ("viewer", "cn-north-4", "cn-north-4-ubuntu-system-00", {}),
    ("north-ops", "cn-north-4", "Ubuntu-x86-public", {}),
])
def test_details_controls_by_hand(as_user, persona, project, name, expected):
    assert details_controls(as_user(persona), project, name) == expected


def test_disabled_controls_say_why(as_user):
    client = as_user("ims-admin")
    work_in(client, "cn-north-4")
    image = Image.objects.get(name="cn-north-4-windows-data-04")
    html = client.get(f"/images/{image.pk}/").content.decode()
    assert ('aria-disabled="true" title="Protected images cannot be deleted. Turn protection off first." '
            'data-action="ims:images:delete" data-operation="delete"') in html


def test_images_a_user_may_list_but_not_open_are_disabled_links_not_removed(as_user):
    from accounts import services
    from accounts.models import User

    policy = services.policy_create(actor=None, name="ListOnly", document={
        "Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]})
    group = services.group_create(actor=None, name="listers")
    services.group_add_member(actor=None, group=group, user=User.objects.get(username="newcomer"))
    services.grant_attach(actor=None, group=group, policies=[policy], all_resources=True, projects=[])
    html = as_user("newcomer").get("/images/?project=cn-north-4").content.decode()
    assert ('<span class="disabled-link" aria-disabled="true" '
            'title="Denied in cn-north-4: no grant allows ims:images:get') in html
    assert 'data-testid="no-list-permission"' not in html
    assert not re.search(r'<a href="/images/[0-9a-f-]{36}/"', html)
