"""Admin suite fixtures: the operator (demo `admin`), an onlooker who may view everything in
the admin and change nothing, and a reader of what a browser would post back."""

from html.parser import HTMLParser

import pytest

from accounts import services
from accounts.models import AuditEvent, Policy, User

# Export records are read with what downloads them needs (ims:images:export; accounts/backends.py).
VIEW_EVERYTHING = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["iam:*:list*", "iam:*:get*"]}]}
EXPORT_RECORDS = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:export"]}]}


@pytest.fixture
def operator(client, demo):
    """The demo administrator, signed in to the admin (staff, member of the built-in admin group)."""
    admin_user = User.objects.get(username="admin")
    assert admin_user.is_staff
    client.force_login(admin_user)
    return client


@pytest.fixture
def onlooker_user(demo):
    policy = services.policy_create(actor=None, name="ViewEverything", document=VIEW_EVERYTHING)
    exports = services.policy_create(actor=None, name="ViewExportRecords", document=EXPORT_RECORDS)
    group = services.group_create(actor=None, name="onlookers")
    user, _ = services.user_create(actor=None, username="onlooker", password="imsperm-demo", is_staff=True)
    services.group_add_member(actor=None, group=group, user=user)
    services.grant_attach(actor=None, group=group, all_resources=True,
                          policies=[policy, exports, Policy.objects.get(name="IMS ReadOnlyAccess")])
    return user


@pytest.fixture
def onlooker(client, onlooker_user):
    """A staff user who may view every model in the admin and change nothing."""
    client.force_login(onlooker_user)
    return client


class _FormReader(HTMLParser):
    """Collects what a browser would submit from the admin's change form (no submit buttons)."""

    def __init__(self, form_id):
        super().__init__()
        self.form_id, self.inside, self.data = form_id, False, []
        self._select = self._textarea = None
        self._selected = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file", "image"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.data.append((name, attrs.get("value", "on" if attrs.get("type") == "checkbox" else "")))
        elif tag == "select" and name:
            self._select, self._selected = name, []
        elif tag == "option" and self._select and "selected" in attrs:
            self._selected.append(attrs.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = [name, ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select:
            self.data.extend((self._select, value) for value in self._selected)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.data.append((self._textarea[0], self._textarea[1].removeprefix("\n")))
            self._textarea = None


def form_data(response, model_name, **overrides) -> dict:
    """The admin form of `response` as the browser would post it, with `overrides` applied
    (a value of None removes the field, as an unticked checkbox)."""
    assert response.status_code == 200, response.status_code
    reader = _FormReader(f"{model_name}_form")
    reader.feed(response.content.decode())
    data: dict = {}
    for name, value in reader.data:
        data.setdefault(name, []).append(value)
    data = {name: values if len(values) > 1 else values[0] for name, values in data.items()}
    data.pop("csrfmiddlewaretoken", None)
    for name, value in overrides.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return {**data, "_save": "Save"}


def events(**filters):
    return AuditEvent.objects.filter(**filters)
