"""A list row's menu offers what applies to that row (issue 10): never Accept/Reject on your own image,
nothing at all on a public one; what the image's state forbids for now is disabled with the reason
written out. Checked for every persona, project and tab against the images each row shows."""

from html.parser import HTMLParser

import pytest

from images.models import Image, ImageMember

pytestmark = pytest.mark.usefixtures("demo")

PERSONAS = ["admin", "iam-admin", "ims-admin", "viewer", "developer", "north-ops", "newcomer"]
PROJECTS = ["cn-north-4", "cn-north-4_dev", "ap-southeast-1", "eu-west-101"]
TABS = ["private", "public", "shared", "awaiting"]
OWNER_ONLY = {"modify", "upload", "share", "export", "replicate", "delete"}


class RowMenus(HTMLParser):
    """Per list row: {operation: reason written in the menu, or None when enabled}."""

    def __init__(self):
        super().__init__()
        self.rows: dict[str, dict[str, str | None]] = {}
        self._row = self._operation = None
        self._in_reason = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "tr" and "data-image-id" in attributes:
            self._row = attributes["data-image-id"]
            self.rows[self._row] = {}
        elif self._row and attributes.get("data-operation"):
            self._operation = attributes["data-operation"]
            disabled = attributes.get("aria-disabled") == "true"
            self.rows[self._row][self._operation] = "" if disabled else None
        elif self._row and "menu-reason" in (attributes.get("class") or "").split():
            self._in_reason = True

    def handle_data(self, data):
        if self._in_reason:
            self.rows[self._row][self._operation] += data

    def handle_endtag(self, tag):
        if tag == "span":
            self._in_reason = False
        if tag == "tr":
            self._row = None


def row_menus(client, project, tab) -> dict[str, dict[str, str | None]]:
    parser = RowMenus()
    parser.feed(client.get(f"/images/?project={project}&tab={tab}&size=100").content.decode())
    return parser.rows


@pytest.mark.parametrize("persona", PERSONAS)
def test_row_menus_offer_only_what_applies_and_write_out_why_the_rest_waits(as_user, persona):
    client = as_user(persona)
    images = {str(i.pk): i for i in Image.objects.select_related("project").prefetch_related("members__project")}
    checked = 0
    for project in PROJECTS:
        for tab in TABS:
            for image_id, menu in row_menus(client, project, tab).items():
                image = images[image_id]
                checked += 1
                where = (persona, project, tab, image.name, menu)
                if image.image_type in (Image.ImageType.GOLD, Image.ImageType.MARKET):
                    assert menu == {}, where  # nothing can ever apply to a public image
                if image.project.name == project:
                    assert not {"accept", "reject"} & set(menu), where  # your own image: no share to answer
                else:
                    assert not OWNER_ONLY & set(menu), where
                    pending = any(m.project.name == project and m.status == ImageMember.Status.PENDING
                                  for m in image.members.all())
                    assert pending or not menu, where
                for reason in menu.values():
                    assert reason is None or reason.strip(), where  # disabled: the reason is written in the menu
    assert checked or persona in ("iam-admin", "newcomer")  # they may list no images anywhere


def test_a_protected_saving_image_keeps_what_waits_on_its_state_with_the_reason(as_user):
    menus = row_menus(as_user("ims-admin"), "cn-north-4", "private")
    image = Image.objects.get(name="cn-north-4-windows-data-04")  # protected, saving, owned by cn-north-4
    assert menus[str(image.pk)] == {
        "modify": "Only active images can be modified; this one is saving.",
        "share": None,
        "export": "Only active images can be exported; this one is saving.",
        "replicate": "Only active images can be replicated; this one is saving.",
        "delete": "Protected images cannot be deleted. Turn protection off first.",
    }


def test_a_pending_share_offers_accept_and_reject_only(as_user):
    menus = row_menus(as_user("ims-admin"), "cn-north-4", "awaiting")
    image = Image.objects.get(name="eu-west-101-euleros-system-00")
    assert menus[str(image.pk)] == {"accept": None, "reject": None}
