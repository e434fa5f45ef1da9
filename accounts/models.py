"""IAM data: users, groups, regions and projects, roles and policies, grants, audit events."""

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy, gettext_noop

ADMIN_GROUP_NAME = "admin"
MAX_GROUPS_PER_USER = 10
MAX_GRANTS_PER_GROUP = 200
MAX_CUSTOM_POLICIES = 200
MAX_SUBPROJECTS_PER_REGION = 10
# Names are unique whatever their letter case: "Admin" beside "admin" would be a trap, not a second name.
# Each refusal is one whole sentence (its example names verbatim), read in the person's language.
USERNAME_TAKEN = gettext_lazy("This username is taken: names that differ only in letter case (Admin and admin) "
                              "count as the same.")
GROUP_NAME_TAKEN = gettext_lazy("This group name is taken: names that differ only in letter case (ADMIN and admin) "
                                "count as the same.")
PROJECT_NAME_TAKEN = gettext_lazy("This project name is taken: names that differ only in letter case (cn-north-4_Dev "
                                  "and cn-north-4_dev) count as the same.")
POLICY_NAME_TAKEN = gettext_lazy("This policy name is taken: names that differ only in letter case (Web Admins and "
                                 "web admins) count as the same.")


class User(AbstractUser):
    """A console user. Permissions come only from the user's IAM groups (UserGroup).

    Django's own `groups`/`user_permissions` are unused: every `has_perm` goes to the policy
    engine (accounts.backends.PolicyBackend), superuser or not.
    """

    username = models.CharField(
        gettext_lazy("username"),
        max_length=64,
        unique=True,
        help_text=gettext_lazy("Up to 64 characters: letters, digits and @/./+/-/_ only."),
        validators=[AbstractUser.username_validator],
        error_messages={"unique": gettext_lazy("A user with that username already exists.")},
    )
    # Moves on with every save of the user's attributes, so a form loaded before someone else's save
    # is refused instead of erasing it (issue 19); a password, MFA or membership change does not.
    revision = models.PositiveIntegerField(gettext_lazy("revision"), default=1, editable=False)

    class Meta:
        verbose_name = gettext_lazy("user")
        verbose_name_plural = gettext_lazy("users")
        ordering = ["username"]
        constraints = [
            models.UniqueConstraint(
                Lower("username"), name="unique_username_any_case",
                violation_error_message=USERNAME_TAKEN,
            ),
        ]

    def __str__(self):
        return self.username

    @classmethod
    def from_db(cls, db, field_names, values, **kwargs):
        user = super().from_db(db, field_names, values, **kwargs)
        user._loaded_username = user.__dict__.get("username")
        return user

    def clean(self):
        """A user name is an identity (issue 19): once stored, model validation refuses another one."""
        super().clean()
        loaded = getattr(self, "_loaded_username", None)
        if self.pk is not None and loaded is not None and self.username != loaded:
            raise ValidationError({"username": ValidationError(
                gettext_lazy("A user name cannot change: create a new user for a new name."))})

    def get_absolute_url(self):
        return reverse("iam:user-detail", args=[self.pk])

    def has_perm(self, perm, obj=None):
        """Ask the policy engine, without Django's superuser short-cut (one engine decides)."""
        if not self.is_active:
            return False
        from django.contrib.auth.models import _user_has_perm

        return _user_has_perm(self, perm, obj)

    def has_module_perms(self, app_label):
        if not self.is_active:
            return False
        from django.contrib.auth.models import _user_has_module_perms

        return _user_has_module_perms(self, app_label)

    async def ahas_perm(self, perm, obj=None):
        """The async twin of has_perm: the same engine, no superuser short-cut."""
        if not self.is_active:
            return False
        from django.contrib.auth.models import _auser_has_perm

        return await _auser_has_perm(self, perm, obj)

    async def ahas_module_perms(self, app_label):
        if not self.is_active:
            return False
        from django.contrib.auth.models import _auser_has_module_perms

        return await _auser_has_module_perms(self, app_label)


class UserGroup(models.Model):
    """An IAM user group: the only thing permissions are granted to."""

    name = models.CharField(gettext_lazy("name"), max_length=128, unique=True)
    description = models.CharField(gettext_lazy("description"), max_length=255, blank=True)
    is_builtin = models.BooleanField(gettext_lazy("is builtin"), default=False, editable=False)
    # Moves on with every save of the name or description (a stale edit form is refused).
    revision = models.PositiveIntegerField(gettext_lazy("revision"), default=1, editable=False)
    members = models.ManyToManyField(User, verbose_name=gettext_lazy("members"), through="Membership",
                                     related_name="iam_groups", blank=True)
    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("user group")
        verbose_name_plural = gettext_lazy("user groups")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"), name="unique_group_name_any_case",
                violation_error_message=GROUP_NAME_TAKEN,
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("iam:group-detail", args=[self.pk])

    @property
    def is_admin_group(self) -> bool:
        return self.is_builtin and self.name == ADMIN_GROUP_NAME


class Membership(models.Model):
    user = models.ForeignKey(User, verbose_name=gettext_lazy("user"), on_delete=models.CASCADE,
                             related_name="memberships")
    group = models.ForeignKey(UserGroup, verbose_name=gettext_lazy("group"), on_delete=models.CASCADE,
                              related_name="memberships")
    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("membership")
        verbose_name_plural = gettext_lazy("memberships")
        constraints = [models.UniqueConstraint(fields=["user", "group"], name="unique_membership")]

    def __str__(self):
        return f"{self.user} in {self.group}"


class Region(models.Model):
    code = models.CharField(
        gettext_lazy("code"),
        max_length=32,
        unique=True,
        validators=[RegexValidator(r"^[a-z]+(-[a-z0-9]+)+$", gettext_lazy("Use a region id like cn-north-4."))],
    )
    name = models.CharField(gettext_lazy("name"), max_length=64)
    revision = models.PositiveIntegerField(gettext_lazy("revision"), default=1, editable=False)

    class Meta:
        verbose_name = gettext_lazy("region")
        verbose_name_plural = gettext_lazy("regions")
        ordering = ["code"]

    def __str__(self):
        return f"{self.name} ({self.code})"


class Project(models.Model):
    """A region project: the region's default project has the region's code as its name."""

    name = models.CharField(
        gettext_lazy("name"),
        max_length=64,
        unique=True,
        validators=[
            RegexValidator(
                r"^[a-z]+(-[a-z0-9]+)+(_[A-Za-z0-9-]+)?$",
                gettext_lazy("Use the region id, optionally followed by _ and a subproject name (cn-north-4_dev)."),
            )
        ],
    )
    region = models.ForeignKey(Region, verbose_name=gettext_lazy("region"), on_delete=models.PROTECT,
                               related_name="projects")
    description = models.CharField(gettext_lazy("description"), max_length=255, blank=True)
    revision = models.PositiveIntegerField(gettext_lazy("revision"), default=1, editable=False)

    class Meta:
        verbose_name = gettext_lazy("project")
        verbose_name_plural = gettext_lazy("projects")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"), name="unique_project_name_any_case",
                violation_error_message=PROJECT_NAME_TAKEN,
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_default(self) -> bool:
        return self.name == self.region.code


class Policy(models.Model):
    """A role (coarse, system-defined, with dependencies) or a policy (system or custom).

    The document is stored as JSON and validated by accounts.policy; `revision` increases on
    every save so a concurrent edit can be detected.
    """

    class Kind(models.TextChoices):
        ROLE = "role", gettext_lazy("System role")
        POLICY = "policy", gettext_lazy("Policy")

    name = models.CharField(gettext_lazy("name"), max_length=128, unique=True)
    kind = models.CharField(gettext_lazy("kind"), max_length=8, choices=Kind.choices, default=Kind.POLICY)
    is_system = models.BooleanField(gettext_lazy("is system"), default=False)
    description = models.CharField(gettext_lazy("description"), max_length=512, blank=True)
    document = models.JSONField(gettext_lazy("document"))
    depends_on = models.ManyToManyField("self", verbose_name=gettext_lazy("depends on"), symmetrical=False,
                                        related_name="dependents", blank=True)
    revision = models.PositiveIntegerField(gettext_lazy("revision"), default=1)
    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(gettext_lazy("updated at"), auto_now=True)

    class Meta:
        verbose_name = gettext_lazy("policy")
        verbose_name_plural = gettext_lazy("policies")
        ordering = ["-is_system", "kind", "name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"), name="unique_policy_name_any_case",
                violation_error_message=POLICY_NAME_TAKEN,
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("iam:policy-detail", args=[self.pk])

    @property
    def is_custom(self) -> bool:
        return not self.is_system

    @property
    def kind_label(self) -> str:
        if self.kind == self.Kind.ROLE:
            return gettext("System role")
        return gettext("System policy") if self.is_system else gettext("Custom policy")


class PolicyRevision(models.Model):
    """One saved revision of a custom policy: what it said, who saved it and when.

    Written by the policy services on every create and save (accounts.services.policies), so the
    history is complete from the moment it was kept; a restore is a new revision that names the
    one it brought back.
    """

    policy = models.ForeignKey(Policy, verbose_name=gettext_lazy("policy"), on_delete=models.CASCADE,
                               related_name="revisions")
    number = models.PositiveIntegerField(gettext_lazy("number"))
    name = models.CharField(gettext_lazy("name"), max_length=128)
    description = models.CharField(gettext_lazy("description"), max_length=512, blank=True)
    document = models.JSONField(gettext_lazy("document"))
    author = models.ForeignKey(User, verbose_name=gettext_lazy("author"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    author_name = models.CharField(gettext_lazy("author name"), max_length=64, blank=True)
    restored_from = models.PositiveIntegerField(gettext_lazy("restored from"), null=True, blank=True)
    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("policy revision")
        verbose_name_plural = gettext_lazy("policy revisions")
        ordering = ["policy", "-number"]
        constraints = [models.UniqueConstraint(fields=["policy", "number"], name="one_revision_number_per_policy")]

    def __str__(self):
        return f"{self.name} revision {self.number}"

    def get_absolute_url(self):
        return reverse("iam:policy-revision", args=[self.policy_id, self.number])


class Grant(models.Model):
    """One group × one role or policy × one scope (All resources, or chosen projects)."""

    group = models.ForeignKey(UserGroup, verbose_name=gettext_lazy("group"), on_delete=models.CASCADE,
                              related_name="grants")
    policy = models.ForeignKey(Policy, verbose_name=gettext_lazy("policy"), on_delete=models.PROTECT,
                               related_name="grants")
    all_resources = models.BooleanField(gettext_lazy("all resources"), default=False)
    projects = models.ManyToManyField(Project, verbose_name=gettext_lazy("projects"), related_name="grants", blank=True)
    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True)
    # When the grant ends (issue 21): from then on the engine treats it as absent, at the very next
    # decision in every process; `manage.py expire_grants` only removes it afterwards. None: no end.
    expires = models.DateTimeField(gettext_lazy("expires"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = gettext_lazy("grant")
        verbose_name_plural = gettext_lazy("grants")
        ordering = ["group__name", "policy__name"]
        constraints = [models.UniqueConstraint(fields=["group", "policy"], name="one_grant_per_group_and_policy")]

    def __str__(self):
        return f"{self.policy} → {self.group} ({self.scope_label})"

    @property
    def scope_label(self) -> str:
        if self.all_resources:
            return "All resources"
        return ", ".join(p.name for p in self.projects.all()) or gettext_noop("no projects")  # pages translate it


class GrantLastUsed(models.Model):
    """When a grant last allowed an action that was performed, to the minute (accounts.last_used).

    Written by one upsert after the response, never by a model save: it decides nothing, so it
    does not bump the authorization stamp.
    """

    grant = models.ForeignKey(Grant, verbose_name=gettext_lazy("grant"), on_delete=models.CASCADE,
                              related_name="last_used")
    action = models.CharField(gettext_lazy("action"), max_length=64)
    last_used_at = models.DateTimeField(gettext_lazy("last used at"))

    class Meta:
        verbose_name = gettext_lazy("grant last used")
        verbose_name_plural = gettext_lazy("grant last useds")
        constraints = [models.UniqueConstraint(fields=["grant", "action"], name="one_last_used_per_grant_and_action")]

    def __str__(self):
        return f"{self.action} by grant {self.grant_id} at {self.last_used_at:%Y-%m-%d %H:%M}"


class AuthorizationStamp(models.Model):
    """A single token renewed by every change to memberships, grants or policies.

    Every process compares it with the stamp of its cached decisions at the start of each
    request, so a change is honoured by the very next request everywhere (no timers). A fresh
    random token, not a counter: a rolled-back or restored database never repeats an old stamp.
    """

    value = models.CharField(gettext_lazy("value"), max_length=32, default="initial")

    class Meta:
        verbose_name = gettext_lazy("authorization stamp")
        verbose_name_plural = gettext_lazy("authorization stamps")

    def __str__(self):
        return f"authorization stamp {self.value}"


class AuditEvent(models.Model):
    """Append-only record of who did (or tried) what to which target."""

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", gettext_lazy("Allowed")
        DENIED = "denied", gettext_lazy("Denied")
        ERROR = "error", gettext_lazy("Error")

    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(User, verbose_name=gettext_lazy("actor"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(gettext_lazy("actor name"), max_length=64, blank=True)
    action = models.CharField(gettext_lazy("action"), max_length=64, db_index=True)
    target_type = models.CharField(gettext_lazy("target type"), max_length=32, blank=True)
    target_id = models.CharField(gettext_lazy("target id"), max_length=64, blank=True, db_index=True)
    # holds "policy → group" for two 128-char names
    target_repr = models.CharField(gettext_lazy("target repr"), max_length=300, blank=True)
    project = models.CharField(gettext_lazy("project"), max_length=64, blank=True)
    outcome = models.CharField(gettext_lazy("outcome"), max_length=8, choices=Outcome.choices, default=Outcome.ALLOWED,
                               db_index=True)
    message = models.CharField(gettext_lazy("message"), max_length=512, blank=True)  # English, as exported
    # The message's template and parameters (accounts.wording), so pages show it in the reader's language.
    wording = models.JSONField(gettext_lazy("wording"), null=True, blank=True, editable=False)
    details = models.JSONField(gettext_lazy("details"), default=dict, blank=True)
    # A refusal repeated within a minute is counted here rather than written again (accounts.audit).
    repeat_count = models.PositiveIntegerField(gettext_lazy("repeat count"), default=1)
    last_seen_at = models.DateTimeField(gettext_lazy("last seen at"), null=True, blank=True)

    class Meta:
        verbose_name = gettext_lazy("audit event")
        verbose_name_plural = gettext_lazy("audit events")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id", "-created_at"]),
            models.Index(fields=["actor", "action", "-created_at"], name="audit_repeat_lookup"),
            # The audit log's order (keyset paging); its filters walk it. An (action or outcome, time)
            # index would take the repeat lookup's plan from audit_repeat_lookup.
            models.Index(fields=["-created_at", "-id"], name="audit_newest"),
        ]

    def __str__(self):
        """Django admin's title of the event: its moment in the reader's zone and its outcome in their language."""
        from preferences.moments import label

        return f"{label(self.created_at, 'seconds')} {self.actor_name} {self.action} {self.get_outcome_display()}"

    @property
    def shown_message(self) -> str:
        """The message in the reader's language (the stored English when it has no wording)."""
        from .wording import shown

        return shown(self.message, self.wording)


class AccessRequest(models.Model):
    """A person's request for an action or a policy, in one project or on all resources, for a time
    (issue 21). Approving it grants that, ending after the time, to the requester's own group
    (`access-<username>`) through the grant service; accounts.services.access_requests writes these."""

    class Status(models.TextChoices):
        PENDING = "pending", gettext_lazy("Pending")
        APPROVED = "approved", gettext_lazy("Approved")
        DENIED = "denied", gettext_lazy("Denied")
        EXPIRED = "expired", gettext_lazy("Expired")
        ANSWERED = "answered", gettext_lazy("Answered at once")

    requester = models.ForeignKey(User, verbose_name=gettext_lazy("requester"), on_delete=models.CASCADE,
                                  related_name="access_requests")
    # What is asked: one catalogued action, or a role or policy (then `action` is empty).
    action = models.CharField(gettext_lazy("action"), max_length=64, blank=True)
    policy = models.ForeignKey(Policy, verbose_name=gettext_lazy("policy"), null=True, blank=True,
                               on_delete=models.CASCADE, related_name="+")
    # Where: one project, or all resources (an IAM action or policy is always all resources).
    all_resources = models.BooleanField(gettext_lazy("all resources"), default=False)
    project = models.ForeignKey(Project, verbose_name=gettext_lazy("project"), null=True, blank=True,
                                on_delete=models.CASCADE, related_name="+")
    duration = models.DurationField(gettext_lazy("duration"))
    justification = models.TextField(gettext_lazy("justification"), max_length=1000)
    status = models.CharField(gettext_lazy("status"), max_length=8, choices=Status.choices, default=Status.PENDING,
                              db_index=True)
    created_at = models.DateTimeField(gettext_lazy("created at"))
    # An undecided request lapses then (IMSPERM_ACCESS_REQUEST_TTL_HOURS after it was made).
    expires_at = models.DateTimeField(gettext_lazy("expires at"))
    decided_at = models.DateTimeField(gettext_lazy("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(User, verbose_name=gettext_lazy("decided by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_by_name = models.CharField(gettext_lazy("decided by name"), max_length=64, blank=True)
    decision_reason = models.CharField(gettext_lazy("decision reason"), max_length=1000, blank=True)
    # A reason the console wrote (not a person): its template and parameters (accounts.wording).
    decision_wording = models.JSONField(gettext_lazy("decision wording"), null=True, blank=True, editable=False)
    # What an approval gave: the duration (the asked one, or shorter), the grant's end, the group holding it.
    granted_duration = models.DurationField(gettext_lazy("granted duration"), null=True, blank=True)
    grant_expires = models.DateTimeField(gettext_lazy("grant expires"), null=True, blank=True)
    group = models.ForeignKey(UserGroup, verbose_name=gettext_lazy("group"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = gettext_lazy("access request")
        verbose_name_plural = gettext_lazy("access requests")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "expires_at"], name="access_request_queue")]

    def __str__(self):
        return f"access request #{self.pk} by {self.requester_id}: {self.what}"

    @property
    def what(self) -> str:
        return self.action or (self.policy.name if self.policy_id else "")

    @property
    def shown_reason(self) -> str:
        """The decision's reason in the reader's language when the console wrote it; a person's words as written."""
        from .wording import shown

        return shown(self.decision_reason, self.decision_wording)

    @property
    def scope_label(self) -> str:
        return "All resources" if self.all_resources or self.project_id is None else self.project.name
