"""Django admin for operators: the same validation and the same services as the console.

Every permission the admin asks for goes to accounts.backends.PolicyBackend, so the policy
engine decides here too. Writes that have a service go through it (audit events, guards,
role dependencies).
"""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group as DjangoGroup
from django.core.exceptions import PermissionDenied, ValidationError
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import services
from .forms import GrantAdminForm, PolicyAdminForm, format_finding
from .models import AuditEvent, Grant, Membership, Policy, Project, Region, User, UserGroup

admin.site.site_header = "imsperm operators"
admin.site.site_title = "imsperm admin"
admin.site.unregister(DjangoGroup)
# Second factors stay with their owner (Sign-in security): django-otp's admin would show an app's
# secret as a QR code to operators and delete devices without an audit event.
admin.site.unregister(TOTPDevice)
admin.site.unregister(StaticDevice)


def _report(request, error):
    text = "; ".join(error.messages) if isinstance(error, ValidationError) else str(error)
    messages.error(request, text)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    verbose_name = "member"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "is_active", "is_staff", "last_login"]
    list_filter = ["is_active", "is_staff", "iam_groups"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Status", {"fields": ("is_active", "is_staff", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = ["last_login", "date_joined"]

    def save_model(self, request, obj, form, change):
        if not change:
            created, _ = services.user_create(actor=request.user, username=obj.username,
                                              password=form.cleaned_data.get("password1"))
            obj.pk = created.pk
            obj.password = created.password
            return None
        if "is_active" in form.changed_data and not obj.is_active:
            current = User.objects.get(pk=obj.pk)
            obj.is_active = True
            try:
                services.user_update(actor=request.user, user=current, is_active=False)
            except (ValidationError, PermissionDenied) as error:
                _report(request, error)
            else:
                obj.is_active = False
            return super().save_model(request, obj, form, change)
        return super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        try:
            services.user_delete(actor=request.user, user=obj)
        except (ValidationError, PermissionDenied) as error:
            _report(request, error)


@admin.register(UserGroup)
class UserGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "is_builtin"]
    search_fields = ["name"]
    inlines = [MembershipInline]

    def get_readonly_fields(self, request, obj=None):
        return ["name", "is_builtin"] if obj is not None and obj.is_builtin else ["is_builtin"]

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_builtin:
            return False
        return super().has_delete_permission(request, obj)

    def save_formset(self, request, form, formset, change):
        """Membership changes go through the services (≤ 10 groups, last-admin guard, audit)."""
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        group = form.instance
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for member_form in formset.forms:
            if not member_form.has_changed() and member_form not in formset.deleted_forms:
                continue
            user = member_form.cleaned_data.get("user")
            if user is None:
                continue
            try:
                if member_form in formset.deleted_forms:
                    if member_form.instance.pk:
                        services.group_remove_member(actor=request.user, group=group, user=user)
                elif member_form.instance.pk is None:
                    services.group_add_member(actor=request.user, group=group, user=user)
            except (ValidationError, PermissionDenied) as error:
                _report(request, error)
        return None

    def delete_model(self, request, obj):
        try:
            services.group_delete(actor=request.user, group=obj)
        except (ValidationError, PermissionDenied) as error:
            _report(request, error)


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    form = PolicyAdminForm
    list_display = ["name", "kind_label", "is_system", "revision", "updated_at"]
    list_filter = ["kind", "is_system"]
    search_fields = ["name", "description"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_system:
            return ["name", "kind", "description", "document", "depends_on", "revision"]
        return ["revision"]

    def get_fields(self, request, obj=None):
        if obj is not None and obj.is_system:
            return ["name", "kind", "description", "document", "depends_on", "revision"]
        return ["name", "description", "document", "revision"]

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_system:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_system:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        result = form.fields["document"].last_result
        for finding in (*result.warnings, *result.suggestions):
            messages.warning(request, format_finding(finding))
        if change:
            services.policy_update(actor=request.user, policy=Policy.objects.get(pk=obj.pk), name=obj.name,
                                   description=obj.description, document=obj.document,
                                   expected_revision=obj.revision)
        else:
            created = services.policy_create(actor=request.user, name=obj.name, description=obj.description,
                                             document=obj.document)
            obj.pk = created.pk

    def delete_model(self, request, obj):
        try:
            services.policy_delete(actor=request.user, policy=obj)
        except (ValidationError, PermissionDenied) as error:
            _report(request, error)


@admin.register(Grant)
class GrantAdmin(admin.ModelAdmin):
    form = GrantAdminForm
    list_display = ["group", "policy", "scope_label", "created_at"]
    list_filter = ["group", "all_resources"]
    list_select_related = ["group", "policy"]
    autocomplete_fields = ["group"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("projects")

    def has_change_permission(self, request, obj=None):
        """A grant is attached or detached, never edited in place (dependencies stay consistent)."""
        return False

    def save_model(self, request, obj, form, change):
        """Grants are made by the service, which attaches role dependencies and audits."""
        projects = form.cleaned_data.get("projects") or []
        result = services.grant_attach(actor=request.user, group=obj.group, policies=[obj.policy],
                                       all_resources=obj.all_resources, projects=projects)
        obj.pk = Grant.objects.get(group=obj.group, policy=obj.policy).pk
        messages.info(request, result.message)

    def save_related(self, request, form, formsets, change):
        """Projects were set by the service."""

    def delete_model(self, request, obj):
        try:
            services.grant_detach(actor=request.user, group=obj.group, policies=[obj.policy])
        except (ValidationError, PermissionDenied) as error:
            _report(request, error)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_name", "action", "target_repr", "project", "outcome"]
    list_filter = ["outcome", "action"]
    search_fields = ["actor_name", "action", "target_repr", "message"]
    date_hierarchy = "created_at"


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "region", "description"]
    list_filter = ["region"]
    list_select_related = ["region"]
