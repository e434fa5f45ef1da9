"""{% identity_providers as providers %}: the active providers, for the sign-in page's buttons;
{% federated_identity user as identity %}: how a user signs in, for the pages that show a user."""

from django import template

register = template.Library()


@register.simple_tag
def identity_providers():
    from federation.models import IdentityProvider

    return list(IdentityProvider.objects.filter(is_active=True).order_by("name").only("pk", "name"))


@register.simple_tag
def federated_identity(user):
    from federation.models import FederatedIdentity

    if user is None or not getattr(user, "pk", None) or user.has_usable_password():
        return None  # a federated user never has a password: no query for everyone else
    return FederatedIdentity.objects.filter(user_id=user.pk).prefetch_related("provider_groups").first()
