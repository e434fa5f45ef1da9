"""Django admin: identity providers and federated identities, read-only (every write must pass the
console's sudo mode and no-escalation checks in federation.services). Django's model permissions
are answered by the engine as iam:identityProviders:* (the same actions as the console's pages);
the client secret is never shown."""

from django.contrib import admin

from accounts.admin import ReadOnlyAdmin

from .models import FederatedIdentity, IdentityProvider, MappingRule

ACTIONS = {"view": "iam:identityProviders:get", "add": "iam:identityProviders:create",
           "change": "iam:identityProviders:update", "delete": "iam:identityProviders:delete"}


class FederationReadOnlyAdmin(ReadOnlyAdmin):
    def catalogue_action(self, verb: str) -> str | None:
        return ACTIONS.get(verb) or super().catalogue_action(verb)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(ACTIONS["view"])

    def has_module_permission(self, request):
        return request.user.has_perm("iam:identityProviders:list")


class RuleInline(admin.TabularInline):
    model = MappingRule
    fields = ["position", "claim", "operator", "value", "stop"]
    readonly_fields = fields
    extra = 0

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(ACTIONS["view"])

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(IdentityProvider)
class IdentityProviderAdmin(FederationReadOnlyAdmin):
    list_display = ["name", "issuer", "client_id", "is_active", "allow_unmatched", "trust_amr"]
    fields = ["name", "issuer", "client_id", "scopes", "is_active", "allow_unmatched", "trust_amr",
              "revision"]  # never the secret
    readonly_fields = fields
    inlines = [RuleInline]


@admin.register(FederatedIdentity)
class FederatedIdentityAdmin(FederationReadOnlyAdmin):
    list_display = ["user", "provider_name", "subject", "last_sign_in_at"]
    fields = ["user", "provider_name", "subject", "last_sign_in_at", "last_claims"]
    readonly_fields = fields
