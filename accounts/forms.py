"""Forms shared by the console and Django admin; policy documents go through the one validator."""

import json

from django import forms
from django.contrib.auth.forms import SetPasswordMixin, UserCreationForm
from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_lazy

from accounts.policy import validate_text

from .findings import located
from .models import Grant, Policy, Project


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: each message on its field when the form has
    one, else on top (the one way from a service error to form errors: IAM pages, images, federation)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


class PolicyDocumentField(forms.CharField):
    """A JSON text area whose value is checked by accounts.policy; errors name path, line and column."""

    widget = forms.Textarea(attrs={"rows": 18, "class": "code", "spellcheck": "false"})

    def prepare_value(self, value):
        if isinstance(value, dict | list):
            return json.dumps(value, indent=2)
        return value

    def to_python(self, value):
        text = super().to_python(value)
        result = validate_text(text or "")
        self.last_result = result
        if not result.ok:
            raise ValidationError([lazy(located, str)(f) for f in result.errors])  # in the reader's language
        return result.document


def format_finding(finding) -> str:
    """A finding as one line, in the person's language (path and quoted values verbatim)."""
    return located(finding)


class PolicyAdminForm(forms.ModelForm):
    document = PolicyDocumentField(help_text=gettext_lazy("A policy document, Version 1.1. Findings show here when "
                                                          "you save."))
    # The revision this form was loaded with, posted back so a stale form is refused, not saved.
    loaded_revision = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["loaded_revision"].initial = self.instance.revision
            self.fields["loaded_revision"].required = True

    class Meta:
        model = Policy
        fields = ["name", "description", "document"]


class GrantAdminForm(forms.ModelForm):
    """Scope is All resources or chosen projects, never both or neither."""

    projects = forms.ModelMultipleChoiceField(queryset=Project.objects.select_related("region"), required=False)

    class Meta:
        model = Grant
        fields = ["group", "policy", "all_resources", "projects", "expires"]
        help_texts = {"expires": gettext_lazy("When the grant ends (UTC): from then on it allows nothing. Empty: no "
                                              "end.")}

    def clean(self):
        data = super().clean()
        expires = data.get("expires")
        if expires is not None:
            from . import authz

            if expires <= authz.clock():
                self.add_error("expires", gettext("The end must be in the future."))
        if not data.get("all_resources") and not data.get("projects"):
            policy = data.get("policy")
            from .services import is_global_only

            if policy is None or not is_global_only(policy):
                raise ValidationError({"projects": ValidationError(
                    gettext_lazy("Choose projects, or tick All resources."))})
        return data


class CodeForm(forms.Form):
    """A second-factor code: six digits from the authenticator app, or a recovery code."""

    code = forms.CharField(
        label=gettext_lazy("Code"), max_length=32, strip=True,
        help_text=gettext_lazy("The six-digit code from your authenticator app, or one of your recovery codes."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text",
                                      "autocapitalize": "off", "spellcheck": "false", "autofocus": True}),
    )


class EnrolmentCodeForm(CodeForm):
    """The first code from a newly added app, which proves it was set up right."""

    code = forms.CharField(
        label=gettext_lazy("Code"), max_length=32, strip=True,
        help_text=gettext_lazy("The six-digit code the app shows now."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "autocapitalize": "off", "spellcheck": "false"}),
    )


class AdminUserAddForm(UserCreationForm):
    """Username and a password typed twice: no "unusable password" choice, whose generated
    password the admin could never show."""


class AdminSetPasswordForm(SetPasswordMixin, forms.Form):
    """A new password typed twice, checked by the password validators; saved by the admin view
    through services.user_set_password (never by this form)."""

    password1, password2 = SetPasswordMixin.create_password_fields()

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean(self):
        self.validate_passwords()
        self.validate_password_for_user(self.user)
        return super().clean()
