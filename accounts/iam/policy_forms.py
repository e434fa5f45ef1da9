"""Forms of the policy pages and the simulator; documents go through the one validator."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_lazy

from accounts.forms import PolicyDocumentField
from accounts.models import Policy, Project, User
from accounts.policy import IAM_ACTIONS, IMS_ACTIONS, SERVICES, get_action, lookup_condition_key, validate_text
from accounts.policy.locate import shown

MAX_CONTEXT_LINES = 50
# Longer than any value the console supplies (names and tag values are at most 64 characters);
# it also bounds what a `?` wildcard of a pasted policy can cost to match.
MAX_CONTEXT_VALUE_LENGTH = 256


class PolicyForm(forms.Form):
    """Name, description and document of a custom policy; `revision` is what the editor loaded."""

    name = forms.CharField(max_length=Policy._meta.get_field("name").max_length)
    description = forms.CharField(
        max_length=Policy._meta.get_field("description").max_length, required=False
    )
    document = PolicyDocumentField(widget=forms.Textarea(attrs={
        "rows": 22, "class": "code", "spellcheck": "false", "wrap": "off", "data-policy-text": "",
    }))
    revision = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)


class CloneForm(forms.Form):
    name = forms.CharField(max_length=Policy._meta.get_field("name").max_length, label=gettext_lazy("Name of the "
                                                                                                    "copy"))
    description = forms.CharField(max_length=Policy._meta.get_field("description").max_length, required=False)


def _action_choices():
    """Every catalogued action as "name — label", the label in the person's language (a callable: the
    form asks again for each page, so each person reads their own)."""
    return [
        ("IMS", [(a.name, f"{a.name} — {gettext(a.label)}") for a in IMS_ACTIONS]),
        ("IAM", [(a.name, f"{a.name} — {gettext(a.label)}") for a in IAM_ACTIONS]),
    ]


def parse_context(text: str) -> dict[str, object]:
    """`key=value` lines as a request context; a key given twice becomes a multi-valued key.

    Raises ValidationError naming the line of an unknown key or a line without "=".
    """
    context: dict[str, object] = {}
    problems = []
    lines = [line.strip() for line in text.splitlines()]
    if len([line for line in lines if line]) > MAX_CONTEXT_LINES:
        raise ValidationError(gettext_lazy("Give at most %(max_context_lines)s context values."),
                              params={"max_context_lines": MAX_CONTEXT_LINES})
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        key, separator, value = line.partition("=")
        key, value = key.strip(), value.strip()
        declared = lookup_condition_key(key) if separator else None
        if not separator:
            problems.append(f'Line {number}: write key=value, e.g. "ims:ResourceTag/env=prod".')
        elif declared is None:
            problems.append(f'Line {number}: "{shown(key)}" is not a condition key the console supplies.')
        elif len(value) > MAX_CONTEXT_VALUE_LENGTH:
            problems.append(f"Line {number}: a value has at most {MAX_CONTEXT_VALUE_LENGTH} characters, not "
                            f"{len(value)}; the console never supplies a longer one.")
        elif declared.name in context:
            previous = context[declared.name]
            context[declared.name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            context[declared.name] = value
    if problems:
        raise ValidationError(problems)
    return context


class SimulatorForm(forms.Form):
    """A request to decide: whose permissions (a user, or a pasted policy), what, where, with which keys."""

    SUBJECTS = (("user", gettext_lazy("A user's permissions")), ("document", gettext_lazy("A policy document I paste")))

    subject = forms.ChoiceField(choices=SUBJECTS, initial="user", widget=forms.RadioSelect)
    user = forms.ModelChoiceField(
        queryset=User.objects.order_by("username"), to_field_name="username", required=False,
        empty_label=gettext_lazy("Choose a user"),
    )
    document = forms.CharField(
        required=False, label=gettext_lazy("Policy document"),
        widget=forms.Textarea(attrs={"rows": 10, "class": "code", "spellcheck": "false"}),
    )
    actions = forms.MultipleChoiceField(
        choices=_action_choices, widget=forms.CheckboxSelectMultiple,
    )
    project = forms.ModelChoiceField(
        queryset=Project.objects.select_related("region").order_by("region__code", "name"),
        to_field_name="name", required=False, empty_label=gettext_lazy("No project (IAM actions are global)"),
        help_text=gettext_lazy("IMS actions are requested in a project; IAM actions are global."),
    )
    context = forms.CharField(
        required=False, label=gettext_lazy("Context values"),
        widget=forms.Textarea(attrs={"rows": 4, "class": "code", "spellcheck": "false",
                                     "placeholder": "ims:ResourceTag/env=prod\ng:SourceIp=10.1.2.3"}),
        help_text=gettext_lazy("One key=value a line. Repeat a key for a multi-valued key."),
    )

    def clean_context(self):
        return parse_context(self.cleaned_data["context"])

    def clean(self):
        data = super().clean()
        if data.get("subject") == "user" and not data.get("user"):
            self.add_error("user", gettext("Choose the user whose permissions to simulate."))
        if data.get("subject") == "document":
            result = validate_text(data.get("document") or "")
            data["validation"] = result
            if not (data.get("document") or "").strip():
                self.add_error("document", gettext("Paste a policy document."))
            elif not result.ok:
                self.add_error("document", gettext("The document has errors: see the findings below."))
        needs_project = [a for a in data.get("actions", ()) if not SERVICES[get_action(a).service].is_global]
        if needs_project and not data.get("project"):
            self.add_error("project", gettext("Choose the project of the request: %(value)s is a project-level "
                                              "action.") % {"value": needs_project[0]})
        return data



class WhoCanForm(forms.Form):
    """One action and where: a project (IMS actions) or nowhere (IAM actions are global)."""

    action = forms.ChoiceField(choices=_action_choices)
    project = forms.ModelChoiceField(
        queryset=Project.objects.select_related("region").order_by("region__code", "name"),
        to_field_name="name", required=False, empty_label=gettext_lazy("No project (IAM actions are global)"),
    )

    def __init__(self, *args, fixed_project=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fixed_project = fixed_project
        if fixed_project is not None:
            del self.fields["project"]

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action and self.fixed_project is None and not SERVICES[get_action(action).service].is_global \
                and not data.get("project"):
            self.add_error("project", (gettext("Choose a project: %(action)s is a project-level action.")
                                       % {"action": action}))
        return data
