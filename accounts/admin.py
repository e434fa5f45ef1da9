"""Django admin for operators: the same engine, validator, services and audit as the console.

Every permission the admin asks for goes to accounts.backends.PolicyBackend, so the policy
engine decides here too. Every write goes through a service (`ServiceAdminMixin`): single and
bulk deletes, forms, inlines and the password form alike, so the console's checks, state
rules, limits, audit events and concurrency guard hold here. What no service can do safely is
not offered: superuser flags, project and region deletion, editing a grant or a membership in place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.actions import delete_selected as confirm_delete_selected
from django.contrib.admin.utils import model_ngettext, unquote
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import Group as DjangoGroup
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.db import transaction
from django.forms import ModelChoiceField
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import services
from .backends import action_for_permission
from .enforcement import Refused, record_refusal
from .forms import AdminSetPasswordForm, AdminUserAddForm, GrantAdminForm, PolicyAdminForm, format_finding
from .models import AuditEvent, Grant, Membership, Policy, Project, Region, User, UserGroup
from .policy.messages import Message, gettext_noop
from .services import escalation
from .wording import worded

admin.site.site_header = gettext_lazy("imsperm operators")
admin.site.site_title = gettext_lazy("imsperm admin")
admin.site.unregister(DjangoGroup)
# Second factors stay with their owner (Sign-in security): django-otp's admin would show an app's
# secret as a QR code to operators and delete devices without an audit event.
admin.site.unregister(TOTPDevice)
admin.site.unregister(StaticDevice)
# Django's bulk delete calls QuerySet.delete(), past every service: each admin offers its own.
admin.site.disable_action("delete_selected")


def with_loaded_revision(form_class):
    """`form_class` carrying the revision its object was loaded with (a hidden `loaded_revision`, as
    PolicyAdminForm does), so that a change form older than the last save is refused, not saved."""

    def __init__(self, *args, **kwargs):
        form_class.__init__(self, *args, **kwargs)
        if self.instance.pk is not None:
            self.fields["loaded_revision"].initial = self.instance.revision
            self.fields["loaded_revision"].required = True

    return type(form_class.__name__, (form_class,), {
        "loaded_revision": forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1),
        "__init__": __init__,
    })


# Django admin's own refusals, each a whole sentence for the audit log (read in the reader's language there).
_ADMIN_REFUSALS = {
    "add": gettext_noop("Django admin refused to add this object."),
    "change": gettext_noop("Django admin refused to change this object."),
    "delete": gettext_noop("Django admin refused to delete this object."),
    "view": gettext_noop("Django admin refused to view this object."),
}


def _admin_refusal(verb: str) -> str:
    """The audit message of the admin's refusal to `verb` (an admin action's name otherwise, in English)."""
    template = _ADMIN_REFUSALS.get(verb)
    return Message(template) if template else f"Django admin refused to {verb} this object."


def refusal_text(error) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


@dataclass
class ServiceRefusal(Exception):
    """A service said no inside an admin view: the view's transaction is rolled back, then the
    refusal is audited and shown (ServiceAdminMixin)."""

    error: Exception
    action: str
    target: object = None
    target_repr: str = ""

    def __str__(self):
        return refusal_text(self.error)


def record_admin_refusal(request, refusal: ServiceRefusal) -> None:
    """Audit a refusal after the rollback that discarded the service's own event."""
    if isinstance(refusal.error, Refused):
        record_refusal(None, refusal.error)
        return
    target = refusal.target if getattr(refusal.target, "pk", None) is not None else None
    record_refusal(request.user, refusal.action, message=worded(refusal.error), target=target,
                   target_repr=refusal.target_repr or ("" if target is not None else str(refusal.target or "")))


def _check_id(model, value: str) -> None:
    try:
        pk = model._meta.pk.to_python(value)
    except ValidationError:
        pk = None
    if pk is None or (isinstance(pk, int) and not -(2**63) <= pk < 2**63):
        raise BadRequest(f"{value[:40]!r} is not a valid {model._meta.verbose_name} id.")


def _with_refusal(form_class, refusal: ServiceRefusal):
    """The admin's form class, failing validation with the service's reasons (nothing is saved)."""

    class RefusedForm(form_class):
        def clean(self):
            data = super().clean()
            error = refusal.error
            if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
                for field, errors in error.error_dict.items():
                    self.add_error(field if field in self.fields else None, errors)
            else:
                self.add_error(None, refusal_text(error))
            return data

    RefusedForm.__name__ = form_class.__name__
    return RefusedForm


@admin.action(permissions=["delete"], description=gettext_lazy("Delete selected %(verbose_name_plural)s"))
def delete_selected(modeladmin, request, queryset):
    """Django's confirmation page, then one service call per object; refusals are reported by name."""
    if not request.POST.get("post"):
        return confirm_delete_selected(modeladmin, request, queryset)
    deleted, refused = modeladmin.delete_queryset(request, queryset)
    parts = []
    if deleted:
        parts.append(gettext("Deleted %(count)s %(items)s.") % {"count": deleted,
                                                                  "items": model_ngettext(modeladmin.opts, deleted)})
    if refused:
        reasons = "; ".join(f"{obj}: {refusal}" for obj, refusal in refused)
        parts.append(gettext("Refused %(count)s: %(reasons)s") % {"count": len(refused), "reasons": reasons})
    level = messages.SUCCESS if not refused else messages.WARNING if deleted else messages.ERROR
    modeladmin.message_user(request, " ".join(parts) or gettext("Nothing was selected."), level)
    return None


class ServiceAdminMixin:
    """Route every admin write through a service; show and audit each refusal; never 500.

    A subclass implements `delete_through_service(request, obj)` and calls its services with
    `self.call_service(request, verb, obj, service, **kwargs)` from save_model / save_formset.
    A refusal rolls back the whole form (no half-writes), is audited, and the form is shown
    again with the service's reasons; a refused delete goes back to the object with the reason.

    Every service call runs inside a savepoint (Django's view transaction, or one per object in
    bulk) that a refusal rolls back, the service's own refusal event with it; the refusal is
    then recorded once, after the rollback (`record_admin_refusal`).
    """

    actions = [delete_selected]

    def catalogue_action(self, verb: str) -> str | None:
        """The catalogue action of Django's `verb` (add, change, delete, view) on this model, or
        `verb` itself when it already is one (`ims:images:share`)."""
        return action_for_permission(verb) or action_for_permission(
            f"{self.opts.app_label}.{verb}_{self.opts.model_name}")

    def call_service(self, request, verb: str, obj, service, **kwargs):
        try:  # the refusal carries its wording: shown in the operator's language, stored in English
            return service(actor=request.user, **kwargs)
        except (ValidationError, PermissionDenied) as error:
            raise ServiceRefusal(error, action=self.catalogue_action(verb) or "", target=obj) from error

    def _audit_denied(self, request, verb: str, object_id=None) -> None:
        """Audit Django admin's own 403 (the engine refused the model permission)."""
        action = self.catalogue_action(verb)
        if action is not None and not getattr(request, "_admin_denial_audited", False):
            request._admin_denial_audited = True
            record_refusal(request.user, action, message=_admin_refusal(verb),
                           target_type=self.opts.model_name, target_id=str(object_id or "")[:64],
                           target_repr=f"Django admin: {self.opts.verbose_name_raw}")  # English

    def _guarded(self, request, verb, object_id, view, *args):
        try:
            return view(*args)
        except Refused:
            raise
        except PermissionDenied:
            self._audit_denied(request, verb, object_id)
            raise

    # Forms ---------------------------------------------------------------------------------

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        refusal = getattr(request, "_service_refusal", None)
        return form_class if refusal is None else _with_refusal(form_class, refusal)

    def add_view(self, request, form_url="", extra_context=None):
        return self._guarded(request, "add", None, super().add_view, request, form_url, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        verb = "add" if object_id is None else "change" if request.method == "POST" else "view"
        if request.method == "POST":
            self._check_posted_ids(request, object_id)
        try:
            return self._guarded(request, verb, object_id, super().changeform_view,
                                 request, object_id, form_url, extra_context)
        except ServiceRefusal as refusal:
            record_admin_refusal(request, refusal)
            request._service_refusal = refusal
            return super().changeform_view(request, object_id, form_url, extra_context)

    def construct_change_message(self, request, form, formsets, add=False):
        """Inline rows were saved by services, not by formset.save(): log what the forms say."""
        for formset in formsets or ():
            if not hasattr(formset, "new_objects"):
                added, removed = _saved_rows(formset)
                formset.new_objects = [f.instance for f in added]
                formset.changed_objects, formset.deleted_objects = [], [f.instance for f in removed]
        return super().construct_change_message(request, form, formsets, add)

    def _check_selected_ids(self, request) -> None:
        """400, not a database error, for a selected id no row can have (e.g. 23 digits)."""
        for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
            _check_id(self.model, value)

    def _check_posted_ids(self, request, object_id) -> None:
        """400 for a posted choice (group, policy, member…) no row can have: the admin's widgets
        would look it up while drawing the form again, and the database would fail."""
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        forms = [("", self.get_form(request, obj, change=obj is not None).base_fields)]
        forms += [(rf"{formset.get_default_prefix()}-\d+-", formset.form.base_fields)
                  for formset, _ in self.get_formsets_with_inlines(request, obj)]
        for prefix, fields in forms:
            for name, field in fields.items():
                if not isinstance(field, ModelChoiceField):
                    continue
                pattern = re.compile(rf"{prefix}{re.escape(name)}")
                for key in request.POST:
                    if pattern.fullmatch(key):
                        for value in request.POST.getlist(key):
                            if value:
                                _check_id(field.queryset.model, value)

    def changelist_view(self, request, extra_context=None):
        action = request.POST.get("action") if request.method == "POST" else None
        if action:
            self._check_selected_ids(request)
        if action and action not in self.get_actions(request):
            self._audit_denied(request, "delete" if action == "delete_selected" else action)
            self.message_user(request, gettext("You may not run “%(action)s” on %(objects)s: nothing was changed.")
                              % {"action": action, "objects": self.opts.verbose_name_plural}, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        return self._guarded(request, "view", None, super().changelist_view, request, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        return self._guarded(request, "view", object_id, super().history_view, request, object_id, extra_context)

    # Deletes -------------------------------------------------------------------------------

    def delete_through_service(self, request, obj) -> None:
        raise NotImplementedError(f"{type(self).__name__} must delete through a service")

    def log_deletions(self, request, queryset):
        """Logged by `_delete_one`, in the same savepoint as the deletion itself."""

    def _delete_one(self, request, obj) -> ServiceRefusal | None:
        """Delete `obj` through its service in a savepoint (with its history entry); return the
        refusal, not yet audited, if any."""
        try:
            with transaction.atomic():
                super().log_deletions(request, [obj])
                self.delete_through_service(request, obj)
        except ServiceRefusal as refusal:
            return refusal
        return None

    def delete_model(self, request, obj):
        refusal = self._delete_one(request, obj)
        if refusal is not None:
            raise refusal

    def delete_queryset(self, request, queryset):
        """Delete each object through its service; returns (deleted count, [(obj, refusal)])."""
        objects, refused = list(queryset), []
        for obj in objects:
            refusal = self._delete_one(request, obj)
            if refusal is not None:
                record_admin_refusal(request, refusal)
                refused.append((obj, refusal))
        return len(objects) - len(refused), refused

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return self._guarded(request, "delete", object_id, super().delete_view,
                                 request, object_id, extra_context)
        except ServiceRefusal as refusal:
            record_admin_refusal(request, refusal)
            self.message_user(request, gettext("%(object)s was not deleted: %(reason)s")
                              % {"object": refusal.target, "reason": refusal}, messages.ERROR)
            return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                                                args=[object_id], current_app=self.admin_site.name))


class ServiceInlineMixin:
    """Inline rows are added or removed through services, never edited in place."""

    extra = 0

    def has_change_permission(self, request, obj=None):
        return False


def _saved_rows(formset):
    """(added, removed) forms of an inline formset whose rows can only be added or removed."""
    added = [f for f in formset.extra_forms if f.has_changed() and f not in formset.deleted_forms]
    removed = [f for f in formset.deleted_forms if f.instance.pk is not None]
    return added, removed


class MembershipInline(ServiceInlineMixin, admin.TabularInline):
    model = Membership
    autocomplete_fields = ["user"]
    verbose_name = gettext_lazy("member")


@admin.register(User)
class UserAdmin(ServiceAdminMixin, DjangoUserAdmin):
    """Users: changes through user_update, passwords through user_set_password. Nobody gets a
    superuser flag by a form (the engine ignores it anyway: one engine decides), nobody changes a
    user name (an identity), and only admin members change an admin member's account."""

    UPDATABLE = ("email", "first_name", "last_name", "is_active", "is_staff")

    form = with_loaded_revision(UserChangeForm)
    add_form = AdminUserAddForm
    change_password_form = AdminSetPasswordForm
    list_display = ["username", "email", "is_active", "is_staff", "last_login"]
    list_filter = ["is_active", "is_staff", "iam_groups"]
    fieldsets = (
        (None, {"fields": ("username", "password", "loaded_revision")}),
        (gettext_lazy("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (gettext_lazy("Status"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (gettext_lazy("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("username", "password1", "password2")}),)
    readonly_fields = ["is_superuser", "last_login", "date_joined"]

    def get_readonly_fields(self, request, obj=None):
        return ["username", *self.readonly_fields] if obj is not None else self.readonly_fields

    def has_change_permission(self, request, obj=None):
        if obj is not None and escalation.admin_account_refusal(request.user, obj):
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            created, _ = self.call_service(request, "add", obj, services.user_create, username=obj.username,
                                           password=form.cleaned_data["password1"])
            obj.pk, obj.password = created.pk, created.password
            return
        changes = {field: form.cleaned_data[field] for field in form.changed_data if field in self.UPDATABLE}
        if changes:
            self.call_service(request, "change", obj, services.user_update, user=User.objects.get(pk=obj.pk),
                              expected_revision=form.cleaned_data["loaded_revision"], **changes)

    def save_related(self, request, form, formsets, change):
        """A user has no related rows editable here."""

    def delete_through_service(self, request, obj):
        self.call_service(request, "delete", obj, services.user_delete, user=obj)

    @method_decorator(sensitive_post_parameters())
    def user_change_password(self, request, id, form_url=""):
        """Django's page; the new password is set by services.user_set_password (checked, audited)."""
        if request.method != "POST":
            return self._guarded(request, "change", id, super().user_change_password, request, id, form_url)
        user = self.get_object(request, unquote(id))
        if user is None:
            raise Http404("No such user.")
        if not self.has_change_permission(request, user):
            self._audit_denied(request, "change", id)
            raise PermissionDenied
        form = self.change_password_form(user, request.POST)
        if not form.is_valid():
            return super().user_change_password(request, id, form_url)
        try:
            with transaction.atomic():
                self.call_service(request, "change", user, services.user_set_password, user=user,
                                  password=form.cleaned_data["password1"])
        except ServiceRefusal as refusal:
            record_admin_refusal(request, refusal)
            self.message_user(request, gettext("The password was not changed: %(reason)s") % {"reason": refusal},
                              messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        self.log_change(request, user, [{"changed": {"fields": ["password"]}}])
        if user.pk == request.user.pk:
            update_session_auth_hash(request, user)
        self.message_user(request, gettext("Password changed successfully."), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[user.pk],
                                            current_app=self.admin_site.name))


@admin.register(UserGroup)
class UserGroupAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = with_loaded_revision(forms.ModelForm)
    list_display = ["name", "description", "is_builtin"]
    search_fields = ["name"]
    inlines = [MembershipInline]

    def get_fields(self, request, obj=None):
        return ["name", "description", "is_builtin"] + (["loaded_revision"] if obj is not None else [])

    def get_readonly_fields(self, request, obj=None):
        return ["name", "is_builtin"] if obj is not None and obj.is_builtin else ["is_builtin"]

    def has_change_permission(self, request, obj=None):
        """Only admin members change the admin group (its description, its members)."""
        if obj is not None and escalation.admin_group_refusal(request.user, obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_builtin:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            created = self.call_service(request, "add", obj, services.group_create,
                                        name=obj.name, description=obj.description)
            obj.pk = created.pk
        elif {"name", "description"} & set(form.changed_data):
            self.call_service(request, "change", obj, services.group_update,
                              group=UserGroup.objects.get(pk=obj.pk), name=obj.name, description=obj.description,
                              expected_revision=form.cleaned_data["loaded_revision"])

    def save_formset(self, request, form, formset, change):
        """Membership changes go through the services (≤ 10 groups, last-admin guard, audit)."""
        group = form.instance
        added, removed = _saved_rows(formset)
        for member_form in removed:
            self.call_service(request, "iam:groups:removeUserFromGroup", group, services.group_remove_member,
                              group=group, user=member_form.instance.user)
        for member_form in added:
            self.call_service(request, "iam:groups:addUserToGroup", group, services.group_add_member,
                              group=group, user=member_form.cleaned_data["user"])

    def delete_through_service(self, request, obj):
        self.call_service(request, "delete", obj, services.group_delete, group=obj)


@admin.register(Policy)
class PolicyAdmin(ServiceAdminMixin, admin.ModelAdmin):
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
        if obj is None:
            return ["name", "description", "document"]
        return ["name", "description", "document", "revision", "loaded_revision"]

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_system:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_system:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            self.call_service(request, "change", obj, services.policy_update,
                              policy=Policy.objects.get(pk=obj.pk), name=obj.name, description=obj.description,
                              document=obj.document, expected_revision=form.cleaned_data["loaded_revision"])
        else:
            created = self.call_service(request, "add", obj, services.policy_create, name=obj.name,
                                        description=obj.description, document=obj.document)
            obj.pk = created.pk
        result = getattr(form.fields["document"], "last_result", None)
        for finding in (*getattr(result, "warnings", ()), *getattr(result, "suggestions", ())):
            messages.warning(request, format_finding(finding))

    def save_related(self, request, form, formsets, change):
        """A custom policy has no related rows editable here."""

    def delete_through_service(self, request, obj):
        self.call_service(request, "delete", obj, services.policy_delete, policy=obj)


@admin.register(Grant)
class GrantAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = GrantAdminForm
    list_display = ["group", "policy", "scope_label", "expires", "created_at"]
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
        result = self.call_service(request, "add", obj.group, services.grant_attach, group=obj.group,
                                   policies=[obj.policy], all_resources=obj.all_resources, projects=projects,
                                   expires=obj.expires)
        obj.pk = Grant.objects.get(group=obj.group, policy=obj.policy).pk
        messages.info(request, result.message)

    def save_related(self, request, form, formsets, change):
        """Projects were set by the service."""

    def delete_through_service(self, request, obj):
        self.call_service(request, "delete", obj, services.grant_detach, group=obj.group, policies=[obj.policy])

    def delete_queryset(self, request, queryset):
        """Detach each group's selected grants in one step, so a role and what it needs go together."""
        refused, deleted = [], 0
        by_group: dict[int, list[Grant]] = {}
        for grant in queryset.select_related("group", "policy"):
            by_group.setdefault(grant.group_id, []).append(grant)
        for grants in by_group.values():
            group = grants[0].group
            try:
                with transaction.atomic():
                    super(ServiceAdminMixin, self).log_deletions(request, grants)
                    self.call_service(request, "delete", group, services.grant_detach, group=group,
                                      policies=[g.policy for g in grants])
            except ServiceRefusal as refusal:
                record_admin_refusal(request, refusal)
                refused.extend((grant, refusal) for grant in grants)
            else:
                deleted += len(grants)
        return deleted, refused


class ReadOnlyAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """Nothing here is written by hand: the append-only audit log."""

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

    def get_fields(self, request, obj=None):
        """The message in the reader's language in its place (the row keeps the English)."""
        return list(dict.fromkeys("shown_message" if name == "message" else name
                                  for name in super().get_fields(request, obj)))

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "shown_message"]

    @admin.display(description=gettext_lazy("message"))
    def shown_message(self, obj) -> str:
        return obj.shown_message


class NoDeleteServiceAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """Regions and projects hold images and grant scopes: no service deletes them, so no delete."""

    def has_delete_permission(self, request, obj=None):
        return False

    def save_related(self, request, form, formsets, change):
        """Nothing related is edited here."""


@admin.register(Region)
class RegionAdmin(NoDeleteServiceAdmin):
    form = with_loaded_revision(forms.ModelForm)
    list_display = ["code", "name"]

    def get_fields(self, request, obj=None):
        return ["code", "name", "loaded_revision"] if obj is not None else ["code", "name"]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            self.call_service(request, "change", obj, services.region_update,
                              region=Region.objects.get(pk=obj.pk), name=obj.name,
                              expected_revision=form.cleaned_data["loaded_revision"])
        else:
            obj.pk = self.call_service(request, "add", obj, services.region_create,
                                       code=obj.code, name=obj.name).pk


@admin.register(Project)
class ProjectAdmin(NoDeleteServiceAdmin):
    form = with_loaded_revision(forms.ModelForm)
    list_display = ["name", "region", "description"]
    list_filter = ["region"]
    list_select_related = ["region"]

    def get_fields(self, request, obj=None):
        return ["name", "region", "description", "loaded_revision"] if obj is not None else [
            "name", "region", "description"]

    def get_readonly_fields(self, request, obj=None):
        return ["region"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            self.call_service(request, "change", obj, services.project_update,
                              project=Project.objects.get(pk=obj.pk), name=obj.name, description=obj.description,
                              expected_revision=form.cleaned_data["loaded_revision"])
        else:
            obj.pk = self.call_service(request, "add", obj, services.project_create, region=obj.region,
                                       name=obj.name, description=obj.description).pk

