"""Forms of the identity provider pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext, gettext_lazy

from accounts.findings import localized
from accounts.models import UserGroup
from accounts.policy import locate
from images.forms import RevisionField

from .models import IdentityProvider, MappingRule


class ProviderForm(forms.ModelForm):
    """The client secret is write-only: the field is always drawn empty; empty on an edit keeps it."""

    client_secret = forms.CharField(
        label=gettext_lazy("Client secret"), required=False, strip=True, max_length=512,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    revision = RevisionField()  # a missing or mangled revision counts as stale, as on every edit form

    class Meta:
        model = IdentityProvider
        fields = ["name", "issuer", "client_id", "client_secret", "scopes", "allow_unmatched", "trust_amr",
                  "is_active"]

    def __init__(self, *args, creating: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.creating = creating
        # Help texts without angle brackets: the field partial shows them as HTML.
        self.fields["name"].help_text = gettext("The sign-in page shows a button “Sign in with” this name.")
        self.fields["issuer"].help_text = (gettext("Its discovery document is read from the issuer URL followed by "
                                                   "/.well-known/openid-configuration."))
        self.fields["issuer"].widget = forms.TextInput(attrs={"inputmode": "url", "autocomplete": "off",
                                                              "placeholder": "https://login.example.com/realms/staff"})
        self.fields["client_secret"].help_text = (
            gettext("Stored, never shown again. Leave empty to keep the one saved.")
            if not creating and self.instance.client_secret
            else gettext("Stored, never shown again after saving. Empty for a public client (PKCE only)."))
        if not creating:
            self.fields["revision"].initial = self.instance.revision
            del self.fields["is_active"]
        for name in ("name", "client_id"):
            self.fields[name].widget.attrs["autocomplete"] = "off"


class RuleForm(forms.ModelForm):
    groups = forms.ModelMultipleChoiceField(queryset=UserGroup.objects.order_by("name"), required=True,
                                            widget=forms.SelectMultiple(attrs={"size": 6}),
                                            help_text=gettext_lazy("The user groups a person this rule matches is "
                                                                   "put in."))
    # The provider's revision the form was loaded at: rules are part of the provider, so a rule saved
    # from a form drawn before any change to the provider (or its other rules) is refused, not applied.
    revision = RevisionField()

    class Meta:
        model = MappingRule
        fields = ["claim", "operator", "value", "groups", "stop"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["revision"].initial = self.instance.provider.revision
        self.fields["claim"].widget.attrs.update({"placeholder": "groups", "autocomplete": "off"})
        self.fields["value"].widget = forms.TextInput(attrs={"placeholder": "engineering", "autocomplete": "off"})
        self.fields["value"].max_length = 1024


class PreviewForm(forms.Form):
    claims = forms.CharField(
        label=gettext_lazy("Claims (JSON)"), max_length=20000,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "mono"}),
        help_text=gettext_lazy("The claims of an ID token or userinfo answer, e.g. {\"sub\": \"1\", \"email\": "
                               "\"ana@example.com\", \"groups\": [\"engineering\"]}."))

    def clean_claims(self):
        text = self.cleaned_data["claims"]
        try:
            value = locate.loads(text)  # the console's one JSON check: NUL, lone surrogates, depth, numbers
        except locate.UnusableJSON as error:
            said = "; ".join(f"{locate.json_path(path)}: {localized(problem)}" for path, problem in error.problems)
            raise forms.ValidationError(gettext_lazy("Not usable JSON: %(error)s."),
                                        params={"error": said[:200]}) from None
        if not isinstance(value, dict):
            raise forms.ValidationError(gettext_lazy("Paste a JSON object of claims, like {\"email\": "
                                                "\"ana@example.com\"}."))
        return value
