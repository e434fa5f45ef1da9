"""Forms of the image operations; each cleans user input into what its service takes."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy

from accounts.models import Project
from accounts.selectors import all_projects

from .models import MAX_MEMBERS_PER_IMAGE, MAX_TAGS_PER_IMAGE, Image

TAG_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,36}$")


class ImageCreateForm(forms.ModelForm):
    """The attributes of a new image; `kinds` are the kinds the user may create here."""

    class Meta:
        model = Image
        # The description last: a text area spans the whole row of the form's grid.
        fields = ["name", "kind", "os_type", "platform", "os_version", "os_bit", "architecture",
                  "disk_format", "min_disk", "min_ram", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        help_texts = {"name": gettext_lazy("1 to 128 letters, digits, spaces, hyphens, periods or underscores.")}
        labels = {"name": gettext_lazy("Name"), "os_type": gettext_lazy("OS type"),
                  "platform": gettext_lazy("Platform"), "os_version": gettext_lazy("OS version"),
                  "os_bit": gettext_lazy("OS bits"),
                  "architecture": gettext_lazy("Architecture"), "disk_format": gettext_lazy("Disk format"),
                  "min_disk": gettext_lazy("Minimum disk (GB)"), "min_ram": gettext_lazy("Minimum memory (MB)"),
                  "description": gettext_lazy("Description")}

    def __init__(self, *args, kinds, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(value, label) for value, label in Image.Kind.choices if value in kinds]
        self.fields["kind"].label = gettext("Image type")


class RevisionField(forms.IntegerField):
    """The image revision a form was loaded with; a missing or mangled one counts as stale (0)."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        super().__init__(required=False, min_value=0, max_value=2**31 - 1, **kwargs)

    def clean(self, value):
        try:
            return super().clean(value) or 0
        except forms.ValidationError:
            return 0


class OperationForm:
    """The input of one image operation (`images.operations.Operation.form`): the details page shows it
    unbound (`for_image(request, image)`), the operation's POST binds it (`data`, `files`)."""

    @classmethod
    def for_image(cls, request, image, data=None, files=None):
        return cls(data, files)

    def current_values(self, image) -> list[tuple[str, str]]:
        """What `image` holds now, as (label, value) rows, beside this form when it turned out stale."""
        return []


class ImageModifyForm(OperationForm, forms.ModelForm):
    """The modifiable attributes, and the revision they were read at."""

    revision = RevisionField()

    class Meta:
        model = Image
        fields = ["name", "description", "os_version", "min_disk", "min_ram", "protected"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        labels = {"name": gettext_lazy("Name"), "description": gettext_lazy("Description"),
                  "os_version": gettext_lazy("OS version"), "min_disk": gettext_lazy("Minimum disk (GB)"),
                  "min_ram": gettext_lazy("Minimum memory (MB)"), "protected": gettext_lazy("Protected")}
        help_texts = {"protected": gettext_lazy("A protected image cannot be deleted.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("revision", self.instance.revision)

    @classmethod
    def for_image(cls, request, image, data=None, files=None):
        return cls(data, instance=copy.copy(image))  # a copy: a form that fails validation edits its instance

    def current_values(self, image) -> list[tuple[str, str]]:
        rows = []
        for field in self._meta.fields:
            value = getattr(image, field)
            shown = (gettext("yes") if value else gettext("no")) if isinstance(value, bool) else str(value) or "—"
            rows.append((self.base_fields[field].label, shown))
        return rows


@dataclass(frozen=True)
class TagRow:
    """One row of the tag editor: its key and value, and when it is in error, which input and why."""

    key: str
    value: str
    field: str = ""  # "key" or "value"
    error: str = ""


def _tag_problem(key: str, value: str, seen: dict) -> tuple[str, str] | None:
    """What is wrong with one tag, as (the input in error, why), or None (an empty row is no tag)."""
    if not key and not value:
        return None
    if not TAG_KEY.match(key):
        return "key", gettext("a tag key is 1 to 36 letters, digits, _ . or -.")
    if key in seen:
        return "key", gettext("the key %(key)s is given twice.") % {"key": key}
    if len(value) > 43:
        return "value", gettext("a tag value is at most 43 characters.")
    return None


class TagsForm(OperationForm, forms.Form):
    """The tags, and the revision they were read at: key/value rows (`tag-key`, `tag-value`, one pair
    a row; a cleared row removes its tag), or `key=value` lines in `tags` (scripts, older pages)."""

    revision = RevisionField()
    tags = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=format_lazy(gettext_lazy("One <code>key=value</code> per line, at most {count} tags."),
                              count=MAX_TAGS_PER_IMAGE),
    )

    @classmethod
    def for_image(cls, request, image, data=None, files=None):
        if data is None:
            return cls(initial={"tags": "\n".join(f"{t.key}={t.value}" for t in image.tags.all()),
                                "revision": image.revision})
        return cls(data)

    def current_values(self, image) -> list[tuple[str, str]]:
        return [(gettext("Tags"), ", ".join(f"{t.key}={t.value}" for t in image.tags.all()) or gettext("none"))]

    def _posted_rows(self) -> list[tuple[str, str]] | None:
        if not self.is_bound or "tag-key" not in self.data:
            return None
        keys, values = self.data.getlist("tag-key"), self.data.getlist("tag-value")
        values += [""] * (len(keys) - len(values))
        return [(key[:100], value[:100]) for key, value in zip(keys, values, strict=False)]

    @property
    def rows(self) -> list[TagRow]:
        """The rows to show: the posted ones (each with its error, if any), else the tags, and one empty row
        to add a tag (up to the limit)."""
        rows = self._posted_rows()
        if rows is None:
            text = self.data.get("tags", "") if self.is_bound else self.initial.get("tags", "")
            rows = [(k.strip(), v.strip()) for k, _, v in (line.partition("=") for line in text.splitlines())
                    if k.strip()]
        errors = getattr(self, "row_errors", {})
        rows = [TagRow(key, value, *errors.get(number, ("", "")))
                for number, (key, value) in enumerate((row for row in rows if row[0] or row[1]), start=1)]
        return rows + [TagRow("", "")] * max(1, min(3, MAX_TAGS_PER_IMAGE - len(rows))) \
            if len(rows) < MAX_TAGS_PER_IMAGE else rows

    @property
    def box_errors(self) -> list[str]:
        """The tag errors said under the rows: those that belong to no one row (too many tags, lines)."""
        by_row = {message for _, message in getattr(self, "row_errors", {}).values()}
        return [message for message in self.errors.get("tags", []) if message not in by_row]

    def clean_tags(self) -> dict[str, str]:
        rows = self._posted_rows()
        if rows is None:
            what = "Line"
            rows = [line.partition("=")[::2] for line in self.cleaned_data["tags"].splitlines()]
        else:
            what = "Row"
            rows = [row for row in rows if row[0].strip() or row[1].strip()]  # numbered as shown: cleared rows go
        tags: dict[str, str] = {}
        errors = []
        self.row_errors: dict[int, tuple[str, str]] = {}  # row number -> (the input in error, its message)
        for number, (key, value) in enumerate(rows, start=1):
            key, value = key.strip(), value.strip()
            problem = _tag_problem(key, value, tags)
            if problem:
                errors.append(f"{what} {number}: {problem[1]}")
                if what == "Row":
                    self.row_errors[number] = (problem[0], errors[-1])
            elif key or value:
                tags[key] = value
        if errors:
            raise forms.ValidationError(errors)
        if len(tags) > MAX_TAGS_PER_IMAGE:
            raise forms.ValidationError(gettext_lazy("An image can have at most %(max_tags_per_image)s tags; you "
                                                     "gave %(count)s."),
                                        params={"max_tags_per_image": MAX_TAGS_PER_IMAGE, "count": len(tags)})
        return tags


class UploadForm(OperationForm, forms.Form):
    file = forms.FileField(help_text=gettext_lazy("QCOW2, VHD/ZVHD/ZVHD2, ISO or RAW; the content must match the "
                                                  "disk format."))

    def clean_file(self):
        uploaded = self.cleaned_data["file"]
        limit = settings.IMSPERM_MAX_UPLOAD_BYTES
        if uploaded.size > limit:
            raise forms.ValidationError(
                gettext_lazy("The file is %(size)s bytes; uploads are limited to %(limit)s bytes. Nothing was "
                             "stored."),
                params={"size": f"{uploaded.size:,}", "limit": f"{limit:,}"},
            )
        return uploaded


class ProjectNamesField(forms.MultipleChoiceField):
    """Projects chosen from a list (checkboxes); a value may also name several, separated by commas
    or spaces (what a script or the no-JS fallback may send). Unknown names are reported by name."""

    widget = forms.CheckboxSelectMultiple

    def valid_value(self, value):
        return True  # ShareForm.clean_projects names the unknown ones


class ShareForm(OperationForm, forms.Form):
    projects = ProjectNamesField(
        label=gettext_lazy("Share with projects"),
        error_messages={"required": gettext_lazy("Choose at least one project.")},
    )

    def __init__(self, *args, image=None, **kwargs):
        super().__init__(*args, **kwargs)
        projects = Project.objects.select_related("region").order_by("region__code", "name")
        if image is not None:
            projects = projects.exclude(pk=image.project_id)
        members = {} if image is None else {m.project_id: m for m in image.members.all()}
        self.choices = [(p, members.get(p.pk)) for p in projects]  # (project, its share or None) for the picker
        self.fields["projects"].choices = [(p.name, p.name) for p, _ in self.choices]

    @classmethod
    def for_image(cls, request, image, data=None, files=None):
        return cls(data, image=image)

    def clean_projects(self) -> list[Project]:
        names = list(dict.fromkeys(n for value in self.cleaned_data["projects"]
                                   for n in re.split(r"[\s,]+", value[:4000]) if n))
        if not names:
            raise forms.ValidationError(gettext_lazy("Choose at least one project."))
        if len(names) > MAX_MEMBERS_PER_IMAGE:
            raise forms.ValidationError(gettext_lazy("An image can be shared with at most %(max_members_per_image)s "
                                                     "projects."),
                                        params={"max_members_per_image": MAX_MEMBERS_PER_IMAGE})
        found = {p.name: p for p in Project.objects.filter(name__in=names)}
        unknown = [name for name in names if name not in found]
        if unknown:
            raise forms.ValidationError(
                gettext_lazy("No project is called %(names)s. Check the spelling: project names look like "
                             "cn-north-4 or cn-north-4_dev."),
                params={"names": ', '.join(unknown)},
            )
        return [found[name] for name in names]


class UnshareForm(OperationForm, forms.Form):
    project = forms.CharField(max_length=64)

    def clean_project(self) -> Project:
        project = Project.objects.filter(name=self.cleaned_data["project"]).first()
        if project is None:
            raise forms.ValidationError(gettext_lazy("No such project."))
        return project


class ReplicateForm(OperationForm, forms.Form):
    """The target project: one of `targets` (projects where the user may replicate images)."""

    target = forms.ChoiceField(label=gettext_lazy("Target project"))

    def __init__(self, *args, targets, **kwargs):
        super().__init__(*args, **kwargs)
        self.targets = {project.name: project for project in targets}
        self.fields["target"].choices = [(p.name, f"{p.name} — {p.region.name}") for p in targets]

    @classmethod
    def for_image(cls, request, image, data=None, files=None):
        """Offers the projects where the engine allows replicating (`ims:images:copy`); the image's own
        project is chosen at first."""
        authorization = request.authorization
        targets = [p for p in all_projects(request) if authorization.allows("ims:images:copy", p)]
        if data is None:
            return cls(targets=targets, initial={"target": image.project.name})
        return cls(data, targets=targets)

    def clean_target(self) -> Project:
        return self.targets[self.cleaned_data["target"]]
