"""IAM users: list, create, view, edit, activate/deactivate, password, delete, and group membership."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from accounts import impact, mfa, services
from accounts.models import MAX_GROUPS_PER_USER, Grant, User, UserGroup
from accounts.paging import CURSOR_PARAM, keyset_page
from accounts.permissions import permission_required_action
from accounts.services import escalation
from accounts.services import mfa as mfa_services

from .change_review import review_page
from .directory_forms import (
    AddToGroupForm,
    PasswordChoiceForm,
    UserCreateForm,
    UserEditForm,
    UserFilterForm,
)
from .directory_selectors import PAGE_SIZE, USER_SORT, capabilities, user_memberships, users_matching
from .form_views import delete_page, form_page
from .groups import change_membership, membership_review

ONE_TIME_SESSION_KEY = "iam-one-time-password-{}"
ONE_TIME_COOKIE = "iam-otp-{}"
ONE_TIME_SECONDS = 300


def stash_password(request, response, user: User, password: str) -> None:
    """Keep a generated password for the next page only, in two halves useless apart.

    The session (stored in the database) holds the password XOR a random pad; a short-lived
    cookie scoped to the user's page holds the pad. The clear text exists only in the response.
    """
    secret = password.encode()
    pad = secrets.token_bytes(len(secret))
    request.session[ONE_TIME_SESSION_KEY.format(user.pk)] = bytes(
        a ^ b for a, b in zip(secret, pad, strict=True)
    ).hex()
    response.set_cookie(ONE_TIME_COOKIE.format(user.pk), pad.hex(), max_age=ONE_TIME_SECONDS,
                        path=user.get_absolute_url(), httponly=True, samesite="Strict",
                        secure=request.is_secure())


def reveal_password(request, user: User) -> str | None:
    """The password stashed for this user's page, once; None when there is none (or it was tampered with)."""
    sealed = request.session.pop(ONE_TIME_SESSION_KEY.format(user.pk), None)
    pad = request.COOKIES.get(ONE_TIME_COOKIE.format(user.pk))
    if not sealed or not pad:
        return None
    try:
        sealed_bytes, pad_bytes = bytes.fromhex(sealed), bytes.fromhex(pad)
        return bytes(a ^ b for a, b in zip(sealed_bytes, pad_bytes, strict=True)).decode()
    except ValueError:
        return None


@permission_required_action("iam:users:listUsers")
def user_list(request):
    """Users with search, filters and a sort by any column (all in the URL); the table refreshes in place for htmx."""
    form = UserFilterForm(request.GET)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    group = data.get("group")
    users = users_matching(text=data.get("q", ""), group_id=group.pk if group else None,
                           active=data.get("active", ""))
    sort = USER_SORT.chosen(request.GET)
    page = keyset_page(users, USER_SORT.order(sort), size=PAGE_SIZE, cursor=request.GET.get(CURSOR_PARAM, ""))
    context = {"form": form, "page": page, "can": capabilities(request), "sort": sort,
               "headers": USER_SORT.headers(request, sort)}
    if request.htmx and request.htmx.target == "user-results":
        return render(request, "iam/users/list.html#results", context)
    return render(request, "iam/users/list.html", context)


@permission_required_action("iam:users:createUser")
def user_create(request):
    """Create a user, and put it in the chosen groups in the same step (all or nothing)."""
    offered = _offered_groups(request)
    form = UserCreateForm(request.POST or None, offered_groups=offered)

    def save(data):
        with transaction.atomic():
            user, generated = services.user_create(
                actor=request.user, username=data["username"], password=form.chosen_password(),
                email=data["email"], first_name=data["first_name"], last_name=data["last_name"],
                is_active=data["is_active"],
            )
            groups = list(data.get("groups") or [])
            for group in groups:
                services.group_add_member(actor=request.user, group=group, user=user)
        response = redirect(user)
        if generated:
            stash_password(request, response, user, generated)
        if groups:
            return gettext("User %(name)s created in %(groups)s.") % {
                "name": user.username, "groups": ", ".join(g.name for g in groups)}, response
        return gettext("User %(name)s created.") % {"name": user.username}, response

    return form_page(request, form, save, template="iam/users/form.html", context={"creating": True})


OFFERED_GROUPS = 30  # the create form lists this many groups; more are added from a group's page


def _offered_groups(request) -> list[tuple[UserGroup, str | None]]:
    """Groups the new user can be put in from the create form, each with the reason it cannot, if any."""
    if not request.authorization.allows("iam:groups:addUserToGroup"):
        return []
    groups = UserGroup.objects.order_by("name")[:OFFERED_GROUPS]
    return [(group, escalation.membership_refusal(request.user, group)) for group in groups]


@permission_required_action("iam:users:getUser")
def user_detail(request, pk):
    user = get_object_or_404(User, pk=pk)
    password = reveal_password(request, user)
    if password:
        messages.warning(request, gettext("Password of %(username)s: %(password)s — copy it now, it will not be "
                                          "shown again.") % {"username": user.username, "password": password})
    can = capabilities(request)
    memberships = user_memberships(user)
    grants = []
    if can["listPermissions"]:
        grants = list(Grant.objects.filter(group__memberships__user=user).select_related("group", "policy")
                      .prefetch_related("projects").order_by("group__name", "policy__name"))
    # Only admin members act on an admin member's account, memberships included.
    edit_refusal = escalation.admin_account_refusal(request.user, user, memberships=memberships)
    add_form, withheld = None, 0
    if can["addUserToGroup"] and len(memberships) < MAX_GROUPS_PER_USER and not edit_refusal:
        add_form = AddToGroupForm(user=user)
        # Offer only the groups the server would let this actor hand over (escalation rule).
        add_form.fields["group"].queryset, withheld = escalation.groups_to_offer(
            request.user, add_form.fields["group"].queryset,
            admin_group_in_choices=not any(m.group.is_admin_group for m in memberships))
    account_refusal = None
    if can["updateUser"] or can["deleteUser"]:
        account_refusal = escalation.account_refusal(request.user, user, memberships=memberships,
                                                     grants=grants if can["listPermissions"] else None)
    refusals = escalation.removal_refusals(request.user, memberships,
                                           grants=grants if can["listPermissions"] else None)
    for membership in memberships:
        membership.removal_refusal = edit_refusal or refusals.get(membership.group.pk)
    context = {"subject": user, "memberships": memberships, "grants": grants, "add_form": add_form, "can": can,
               "subject_has_mfa": mfa.has_mfa(user),
               "max_groups": MAX_GROUPS_PER_USER, "withheld_groups": withheld, "account_refusal": account_refusal,
               "edit_refusal": edit_refusal}
    response = render(request, "iam/users/detail.html", context)
    if ONE_TIME_COOKIE.format(user.pk) in request.COOKIES:
        response.delete_cookie(ONE_TIME_COOKIE.format(user.pk), path=user.get_absolute_url(), samesite="Strict")
    return response


EDITABLE = ("email", "first_name", "last_name")


@permission_required_action("iam:users:updateUser")
def user_edit(request, pk):
    """E-mail and names (the user name is shown, fixed); a form older than the last save answers 409
    beside the values saved meanwhile, and saving it again overwrites them deliberately."""
    user = get_object_or_404(User, pk=pk)
    refusal = escalation.admin_account_refusal(request.user, user)
    if refusal:
        escalation.refuse_page(request.user, "iam:users:updateUser", refusal, target=user)
    initial = {"username": user.username, "email": user.email, "first_name": user.first_name,
               "last_name": user.last_name, "revision": user.revision}
    form = UserEditForm(request.POST or None, initial=initial)

    def save(data):
        services.user_update(actor=request.user, user=user, expected_revision=data["revision"],
                             **{field: data[field] for field in EDITABLE})
        return gettext("User %(name)s saved.") % {"name": user.username}, user

    return form_page(request, form, save, template="iam/users/form.html", context={"subject": user},
                     stale_as="subject", stale_fields=EDITABLE)


@permission_required_action("iam:users:updateUser")
@require_http_methods(["GET", "POST"])
def user_set_active(request, pk):
    """Activate (active=1) or deactivate (active=0); the last active admin stays active. GET: the review."""
    user = get_object_or_404(User, pk=pk)
    if request.method != "POST":
        return _activity_review(request, user, request.GET.get("active") == "1")
    active = request.POST.get("active") == "1"
    try:
        services.user_update(actor=request.user, user=user, is_active=active)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        done = gettext("User %(username)s activated.") if active else gettext("User %(username)s deactivated.")
        messages.success(request, done % {"username": user.username})
    return redirect(user)


def _activity_review(request, user: User, active: bool):
    """What (de)activating `user` changes: every decision they lose (or regain), before it is done."""
    doing = "activating" if active else "deactivating"
    refusal = escalation.account_refusal(request.user, user, doing=doing)
    verb = "Activate" if active else "Deactivate"
    question = f"{verb} {user.username}?" + ("" if active else " The user will no longer be able to sign in.")
    return review_page(request, impact.activity_impact(user, active=active), question=question, button=verb,
                       data_action="iam:users:updateUser", back_url=user.get_absolute_url(), refusal=refusal,
                       danger=not active)


@permission_required_action("iam:users:updateUser")
def user_password(request, pk):
    user = get_object_or_404(User, pk=pk)
    form = PasswordChoiceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        generated = services.user_set_password(actor=request.user, user=user, password=form.chosen_password())
        messages.success(request, gettext("Password of %(username)s changed.") % {"username": user.username})
        response = redirect(user)
        if generated:
            stash_password(request, response, user, generated)
        return response
    status = 422 if form.errors else 200
    return render(request, "iam/users/password.html", {"form": form, "subject": user}, status=status)


@permission_required_action("iam:users:updateUser")
@require_POST
def user_mfa_reset(request, pk):
    """Turn off another person's MFA (lost app and recovery codes); refused like a password reset."""
    user = get_object_or_404(User, pk=pk)
    try:
        mfa_services.mfa_reset(actor=request.user, user=user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, gettext("MFA of %(username)s reset: they sign in with their password and can set "
                                          "up a new authenticator app.") % {"username": user.username})
    return redirect(user)


@permission_required_action("iam:users:deleteUser")
def user_delete(request, pk):
    user = get_object_or_404(User, pk=pk)

    def delete():
        services.user_delete(actor=request.user, user=user)
        return gettext("User %(name)s deleted.") % {"name": user.username}

    return delete_page(request, user, delete, done="iam:user-list", template="iam/users/confirm_delete.html",
                       context=lambda: {"subject": user, "memberships": user_memberships(user)})


@permission_required_action("iam:groups:addUserToGroup")
@require_http_methods(["GET", "POST"])
def user_group_add(request, pk):
    """GET ?group=N: the review (what the user gains); POST: add the user to the group."""
    user = get_object_or_404(User, pk=pk)
    form = AddToGroupForm(request.POST if request.method == "POST" else request.GET, user=user)
    if not form.is_valid():
        if request.method != "POST":
            raise Http404("Choose a group the user is not in yet.")
        messages.error(request, gettext("Choose a group the user is not in yet."))
        return redirect(user)
    if request.method != "POST":
        return membership_review(request, group=form.cleaned_data["group"], user=user, add=True,
                                 back_url=user.get_absolute_url())
    change_membership(request, group=form.cleaned_data["group"], user=user, add=True)
    return redirect(user)


@permission_required_action("iam:groups:removeUserFromGroup")
@require_http_methods(["GET", "POST"])
def user_group_remove(request, pk, group_pk):
    """GET: the review (what the user loses); POST: remove the user from the group."""
    user = get_object_or_404(User, pk=pk)
    group = get_object_or_404(UserGroup, pk=group_pk)
    if request.method != "POST":
        return membership_review(request, group=group, user=user, add=False, back_url=user.get_absolute_url())
    change_membership(request, group=group, user=user, add=False)
    return redirect(user)
