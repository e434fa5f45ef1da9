"""Identity providers, their ordered mapping rules, and the people who signed in through them."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy, override

SCOPE_VALIDATOR = RegexValidator(r"^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$",
                                 gettext_lazy("Scopes are words separated by single spaces, e.g. “openid email "
                                              "profile”."))
CLAIM_VALIDATOR = RegexValidator(r"^[A-Za-z0-9_.:/-]+$",
                                 gettext_lazy("A claim name: letters, digits and _ . : / - only."))


class IdentityProvider(models.Model):
    """An OpenID Connect provider people sign in with. The client secret is write-only: no page,
    export or audit event shows it again once saved."""

    name = models.CharField(gettext_lazy("name"), max_length=64, unique=True,
                            help_text=gettext_lazy("Shown on the sign-in page as “Sign in with <name>”."))
    issuer = models.URLField(gettext_lazy("issuer URL"), max_length=255,
                             help_text=gettext_lazy("Its discovery document is read from "
                                                    "<issuer>/.well-known/openid-configuration."))
    client_id = models.CharField(gettext_lazy("client ID"), max_length=255)
    client_secret = models.CharField(gettext_lazy("client secret"), max_length=512, blank=True)
    scopes = models.CharField(gettext_lazy("scopes"), max_length=255, default="openid email profile",
                              validators=[SCOPE_VALIDATOR])
    is_active = models.BooleanField(gettext_lazy("active"), default=True)
    allow_unmatched = models.BooleanField(
        gettext_lazy("let people matching no rule sign in"), default=False,
        help_text=gettext_lazy("Off (the default): a person no rule matches is turned away. On: they sign in, in no "
                               "group from this provider."))
    trust_amr = models.BooleanField(
        gettext_lazy("trust the provider's MFA (amr claim)"), default=False,
        help_text=gettext_lazy("Off (the default): the console asks for its own second factor, as for anyone who "
                               "has one, and MFA counts as present only after it. On: when the ID token's amr claim "
                               "says the provider did multi-factor authentication (mfa, otp, hwk, swk, sc, fpt, face, "
                               "iris, retina or vbm), the session counts as MFA-present from the token's auth_time."))
    revision = models.PositiveIntegerField(gettext_lazy("revision"), default=1, editable=False)
    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(gettext_lazy("updated at"), auto_now=True)

    class Meta:
        verbose_name = gettext_lazy("identity provider")
        verbose_name_plural = gettext_lazy("identity providers")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("federation:provider-detail", args=[self.pk])

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()


class MappingRule(models.Model):
    """One ordered rule: a condition on one claim → the groups a matching person is put in."""

    class Operator(models.TextChoices):
        EQUALS = "equals", gettext_lazy("equals")
        ONE_OF = "one_of", gettext_lazy("is one of")
        CONTAINS = "contains", gettext_lazy("contains (list claims)")
        EMAIL_DOMAIN = "email_domain", gettext_lazy("has the e-mail domain")

    provider = models.ForeignKey(IdentityProvider, verbose_name=gettext_lazy("provider"), on_delete=models.CASCADE,
                                 related_name="rules")
    position = models.PositiveIntegerField(gettext_lazy("position"))
    claim = models.CharField(gettext_lazy("claim"), max_length=128, validators=[CLAIM_VALIDATOR],
                             help_text=gettext_lazy("The claim of the ID token or userinfo, e.g. groups, email, "
                                                    "department."))
    operator = models.CharField(gettext_lazy("operator"), max_length=16, choices=Operator.choices,
                                default=Operator.EQUALS)
    value = models.CharField(gettext_lazy("value"), max_length=1024,
                             help_text=gettext_lazy("For “is one of”: values separated by commas."))
    groups = models.ManyToManyField("accounts.UserGroup", verbose_name=gettext_lazy("groups"), related_name="+",
                                    blank=True)
    stop = models.BooleanField(gettext_lazy("stop here when it matches"), default=False,
                               help_text=gettext_lazy("Later rules are not evaluated for a person this rule matches."))

    class Meta:
        verbose_name = gettext_lazy("mapping rule")
        verbose_name_plural = gettext_lazy("mapping rules")
        ordering = ["provider", "position"]
        constraints = [models.UniqueConstraint(fields=["provider", "position"], name="unique_rule_position")]

    def __str__(self):
        return f"{self.provider} rule {self.position}"

    def describe(self) -> str:
        """The rule in English, as the audit log keeps it (pages show the operator in the person's language)."""
        with override("en"):
            return f"{self.claim} {self.get_operator_display()} {self.value}"


class FederatedIdentity(models.Model):
    """A console user created (just in time) for a person of a provider, known by the provider's `sub`.

    `provider_groups` are the memberships that came from the provider's rules: the next sign-in sets
    them to exactly what the rules say then; memberships given by hand are never touched.
    """

    provider = models.ForeignKey(IdentityProvider, verbose_name=gettext_lazy("provider"), null=True,
                                 on_delete=models.SET_NULL, related_name="identities")
    provider_name = models.CharField(gettext_lazy("provider name"), max_length=64)
    subject = models.CharField(gettext_lazy("subject"), max_length=255)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=gettext_lazy("user"), on_delete=models.CASCADE,
                                related_name="federated_identity")
    provider_groups = models.ManyToManyField("accounts.UserGroup", verbose_name=gettext_lazy("provider groups"),
                                             related_name="+", blank=True)
    last_claims = models.JSONField(gettext_lazy("last claims"), default=dict, blank=True)
    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True)
    last_sign_in_at = models.DateTimeField(gettext_lazy("last sign in at"), null=True, blank=True)

    class Meta:
        verbose_name = gettext_lazy("federated identity")
        verbose_name_plural = gettext_lazy("federated identities")
        ordering = ["provider_name", "subject"]
        constraints = [models.UniqueConstraint(fields=["provider", "subject"], name="unique_provider_subject")]

    def __str__(self):
        return f"{self.user} via {self.provider_name}"
