"""Django admin: identity providers are read-only here (their writes must pass the console's
sudo mode and no-escalation checks, in federation.services); the model permissions map onto
iam:identityProviders:* like every other model's (accounts.backends)."""

from django.contrib import admin

from .models import MappingRule


class ReadOnly(admin.ModelAdmin):
    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("iam:identityProviders:get")

    def has_module_permission(self, request):
        return request.user.has_perm("iam:identityProviders:list")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RuleInline(admin.TabularInline):
    model = MappingRule
    fields = ["position", "claim", "operator", "value", "stop"]
    readonly_fields = fields
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class IdentityProviderAdmin(ReadOnly):  # registered once tests/admin and the crawler know it
    list_display = ["name", "issuer", "client_id", "is_active", "allow_unmatched"]
    fields = ["name", "issuer", "client_id", "scopes", "is_active", "allow_unmatched", "revision"]  # never the secret
    readonly_fields = fields
    inlines = [RuleInline]


class FederatedIdentityAdmin(ReadOnly):
    list_display = ["user", "provider_name", "subject", "last_sign_in_at"]
    fields = ["user", "provider_name", "subject", "last_sign_in_at", "last_claims"]
    readonly_fields = fields

