"""API tokens: a user's bearer tokens for the decision API, kept as SHA-256 digests only."""

import hashlib

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy

TOKEN_PREFIX = "imsp_"


def token_digest(secret: str) -> str:
    """What is stored of a token: its SHA-256 (the secret is random and long, so no salt or slow hash
    is needed, and a look-up by digest is one indexed query)."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token that acts as its user in the decision API; shown once, revocable."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=gettext_lazy("user"), on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField(gettext_lazy("name"), max_length=64)
    digest = models.CharField(gettext_lazy("digest"), max_length=64, unique=True, editable=False)
    prefix = models.CharField(gettext_lazy("prefix"), max_length=16, editable=False,
                              help_text=gettext_lazy("The token's first characters, to tell it apart"))
    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(gettext_lazy("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(gettext_lazy("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = gettext_lazy("api token")
        verbose_name_plural = gettext_lazy("api tokens")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], condition=models.Q(revoked_at__isnull=True),
                                    name="one_active_api_token_name_per_user"),
        ]

    def __str__(self):
        return f"API token {self.name} ({self.prefix}…) of {self.user}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
