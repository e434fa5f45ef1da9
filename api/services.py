"""API token services for the signed-in user: create (the secret is returned once) and revoke.

Managing one's own tokens needs no IAM action, as managing one's own MFA: a token can do no more
than its user (it asks the same engine), and asking about other users needs the user's own
iam:permissions:listPermissions at every call. Each write is audited.
"""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts import audit
from accounts.enforcement import refuse
from accounts.policy.messages import Message, gettext_noop

from .models import TOKEN_PREFIX, ApiToken, token_digest

MAX_ACTIVE_TOKENS = 10
# Revoked tokens kept per user, newest first, so the page can say "revoked"; older rows are deleted
# (the audit keeps each creation and revocation), so revoking and creating again adds no rows for ever.
MAX_REVOKED_KEPT = 20


def api_token_create(*, actor, name: str) -> tuple[ApiToken, str]:
    """A new token for `actor`; returns it and its secret (kept nowhere: only the digest is stored)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError(gettext_lazy("Give the token a name, such as the service that will use it."))
    if len(name) > ApiToken._meta.get_field("name").max_length:
        raise ValidationError(gettext_lazy("A token name is at most 64 characters."))
    with transaction.atomic():
        active = ApiToken.objects.select_for_update().filter(user=actor, revoked_at__isnull=True)
        names = {token.name.lower() for token in active}
        if name.lower() in names:
            raise ValidationError(gettext_lazy("You already have a token named %(name)s. Choose another name."),
                                  params={"name": name})
        if len(names) >= MAX_ACTIVE_TOKENS:
            raise ValidationError(gettext_lazy("You have %(max_active_tokens)s tokens: revoke one before creating "
                                               "another."), params={"max_active_tokens": MAX_ACTIVE_TOKENS})
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken.objects.create(user=actor, name=name, digest=token_digest(secret),
                                        prefix=secret[: len(TOKEN_PREFIX) + 6])
        audit.record(actor=actor, action="apitoken:create", target=token,
                     message=Message(gettext_noop("Created API token %(name)s (%(prefix)s…)."), name=name,
                                     prefix=token.prefix))
    return token, secret


def api_token_revoke(*, actor, token: ApiToken) -> ApiToken:
    """Revoke one of `actor`'s tokens: the next call with it is refused."""
    if actor is None or token.user_id != actor.pk:
        refuse(actor, "apitoken:revoke", message=Message(gettext_noop("You can revoke only your own API tokens.")),
               target=token)
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is not None:
            raise ValidationError(gettext_lazy("API token %(name)s is already revoked."),
                                  params={"name": locked.name})
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit.record(actor=actor, action="apitoken:revoke", target=locked,
                     message=Message(gettext_noop("Revoked API token %(name)s (%(prefix)s…)."), name=locked.name,
                                     prefix=locked.prefix))
        _forget_old_revoked(actor)
    return locked


def _forget_old_revoked(user) -> None:
    """Delete `user`'s revoked tokens beyond the newest MAX_REVOKED_KEPT (a revoked token authenticates
    nothing; its audit events stay)."""
    old = list(ApiToken.objects.filter(user=user, revoked_at__isnull=False)
               .order_by("-revoked_at", "-pk").values_list("pk", flat=True)[MAX_REVOKED_KEPT:])
    if old:
        ApiToken.objects.filter(pk__in=old).delete()
