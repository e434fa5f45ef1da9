"""IAM → Identity providers: the pages (each declares its catalogue action; every write also asks
for sudo mode), and the two public addresses of "Sign in with <provider>"."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts import audit, mfa, who_can
from accounts.enforcement import Refused
from accounts.findings import localized
from accounts.forms import add_service_errors
from accounts.models import AuditEvent, UserGroup
from accounts.permissions import permission_required_action, public_view
from accounts.policy.messages import Message, gettext_noop
from accounts.services import escalation
from accounts.sudo import sudo_required

from . import oidc, services, trust
from .forms import PreviewForm, ProviderForm, RuleForm
from .models import FederatedIdentity, IdentityProvider, MappingRule
from .rules import evaluate

NEXT_SESSION_KEY = "federation_next"
# Claims about the sign-in itself: only the verified ID token's count (a userinfo answer never sets them).
PROTOCOL_CLAIMS = ("iss", "aud", "sub", "exp", "iat", "auth_time", "amr", "acr", "azp", "nonce")
BACKEND = "accounts.backends.PolicyBackend"


def redirect_uri(request, provider) -> str:
    """The address to register at the provider (its only allowed redirect URI for this console)."""
    return request.build_absolute_uri(reverse("federation-signin:callback", args=[provider.pk]))


def _refused(request, form, refused: Refused, *, status=403):
    form.add_error(None, str(refused.explanation.summary))
    return status


# --- the pages ---------------------------------------------------------------------------------


@permission_required_action("iam:identityProviders:list")
def provider_list(request):
    providers = IdentityProvider.objects.annotate(rule_count=Count("rules", distinct=True),
                                                  people=Count("identities", distinct=True))
    context = {"providers": providers,
               "can_create": request.authorization.allows("iam:identityProviders:create")}
    return render(request, "federation/list.html", context)


@permission_required_action("iam:identityProviders:create")
@sudo_required
@require_http_methods(["GET", "POST"])
def provider_create(request):
    form = ProviderForm(request.POST or None, creating=True)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k != "revision"}
            try:
                provider = services.provider_create(actor=request.user, **data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, (gettext("Identity provider %(name)s created. Register the redirect URI "
                                                   "below at the provider, then test the connection.")
                                           % {"name": provider.name}))
                return redirect(provider)
    return render(request, "federation/form.html", {"form": form, "creating": True}, status=status)


def _unmappable(actor) -> list[str]:
    """The groups the actor could not fill by hand, so cannot map into (two queries)."""
    groups = UserGroup.objects.all()
    offered, _ = escalation.groups_to_offer(actor, groups, admin_group_in_choices=True)
    allowed = set(offered.values_list("pk", flat=True))
    return sorted(name for pk, name in groups.values_list("pk", "name") if pk not in allowed)


def _detail(request, provider, *, preview=None, preview_form=None, findings=None, rule_form=None, status=200):
    rules = list(provider.rules.prefetch_related("groups").order_by("position"))
    signed_in = FederatedIdentity.objects.filter(provider=provider)
    # Who signed in, in which groups, names holders: only for those who-can's permissions allow (a count else).
    names = who_can.may_see_names(request.authorization)
    identities = (signed_in.select_related("user").prefetch_related("provider_groups")
                  .order_by("user__username")[:50]) if names else None
    allows = request.authorization.allows
    context = {
        "provider": provider, "rules": rules, "identities": identities,
        "people_count": None if names else signed_in.count(), "names_actions": who_can.NAMES_ACTIONS,
        "redirect_uri": redirect_uri(request, provider),
        "preview": preview, "preview_form": preview_form or PreviewForm(),
        "findings": findings,
        "rule_form": rule_form or RuleForm(),
        "can_update": allows("iam:identityProviders:update"),
        "can_delete": allows("iam:identityProviders:delete"),
        "mapping_refusal": services.mapping_refusal(request.user, services.mapped_groups(provider)),
        "unmappable": _unmappable(request.user),
    }
    return render(request, "federation/detail.html", context, status=status)


@permission_required_action("iam:identityProviders:get")
@require_http_methods(["GET", "HEAD"])
def provider_detail(request, pk):
    return _detail(request, get_object_or_404(IdentityProvider, pk=pk))


@permission_required_action("iam:identityProviders:get")
@require_POST
def provider_test(request, pk):
    """"Test connection": fetch discovery and the JWKS now; say what was found or what failed."""
    provider = get_object_or_404(IdentityProvider, pk=pk)
    return _detail(request, provider, findings=oidc.test_connection(provider))


@permission_required_action("iam:identityProviders:get")
@require_POST
def provider_preview(request, pk):
    """Paste claims: which rules match, which groups would result (nothing is saved)."""
    provider = get_object_or_404(IdentityProvider, pk=pk)
    form = PreviewForm(request.POST)
    if not form.is_valid():
        return _detail(request, provider, preview_form=form, status=422)
    claims = form.cleaned_data["claims"]
    evaluation = evaluate(provider.rules.prefetch_related("groups").order_by("position"), claims)
    admitted = evaluation.matched or provider.allow_unmatched
    return _detail(request, provider, preview_form=form,
                   preview={"evaluation": evaluation, "admitted": admitted})


@permission_required_action("iam:identityProviders:update")
@sudo_required
@require_http_methods(["GET", "POST"])
def provider_edit(request, pk):
    provider = get_object_or_404(IdentityProvider, pk=pk)
    form = ProviderForm(request.POST or None, instance=IdentityProvider.objects.get(pk=pk), creating=False)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k not in ("revision", "client_secret")}
            try:
                services.provider_update(actor=request.user, provider=provider,
                                         expected_revision=form.cleaned_data.get("revision"),
                                         client_secret=form.cleaned_data["client_secret"], **data)
            except Refused as refused:
                status = _refused(request, form, refused)
            except ValidationError as error:
                add_service_errors(form, error)
                status = 409 if getattr(error, "code", "") == "conflict" else 422
            else:
                messages.success(request, (gettext("Identity provider %(name)s saved.")
                                           % {"name": form.cleaned_data['name']}))
                return redirect(provider)
    return render(request, "federation/form.html", {"form": form, "provider": provider}, status=status)


@permission_required_action("iam:identityProviders:update")
@sudo_required
@require_POST
def provider_set_active(request, pk):
    provider = get_object_or_404(IdentityProvider, pk=pk)
    active = request.POST.get("active") == "1"
    try:
        services.provider_set_active(actor=request.user, provider=provider, active=active)
    except Refused as refused:
        messages.error(request, refused.explanation.summary)
        return _detail(request, provider, status=403)
    if active:
        done = gettext("%(provider)s enabled: its button is on the sign-in page.")
    else:
        done = gettext("%(provider)s disabled: nobody can sign in with it.")
    messages.success(request, done % {"provider": provider.name})
    return redirect(provider)


@permission_required_action("iam:identityProviders:delete")
@sudo_required
@require_http_methods(["GET", "POST"])
def provider_delete(request, pk):
    provider = get_object_or_404(IdentityProvider, pk=pk)
    if request.method == "POST":
        name = provider.name
        services.provider_delete(actor=request.user, provider=provider)
        messages.success(request, gettext("Identity provider %(name)s deleted.") % {"name": name})
        return redirect("federation:provider-list")
    people = FederatedIdentity.objects.filter(provider=provider).count()
    return render(request, "federation/confirm_delete.html", {"provider": provider, "people": people})


@permission_required_action("iam:identityProviders:update")
@sudo_required
@require_POST
def rule_create(request, pk):
    provider = get_object_or_404(IdentityProvider, pk=pk)
    form = RuleForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            # Adding a rule overwrites nothing: the form's revision is not asked.
            data = {key: value for key, value in form.cleaned_data.items() if key != "revision"}
            rule = services.rule_create(actor=request.user, provider=provider, **data)
        except Refused as refused:
            status = _refused(request, form, refused)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, gettext("Rule %(position)s added.") % {"position": rule.position})
            return redirect(provider)
    return _detail(request, provider, rule_form=form, status=status)


@permission_required_action("iam:identityProviders:update")
@sudo_required
@require_http_methods(["GET", "POST"])
def rule_edit(request, pk):
    rule = get_object_or_404(MappingRule.objects.select_related("provider"), pk=pk)
    form = RuleForm(request.POST or None, instance=MappingRule.objects.get(pk=pk))
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                services.rule_update(actor=request.user, rule=rule, expected_revision=data.pop("revision"), **data)
            except Refused as refused:
                status = _refused(request, form, refused)
            except ValidationError as error:
                add_service_errors(form, error)
                status = 409 if getattr(error, "code", "") == "conflict" else 422
            else:
                messages.success(request, gettext("Rule %(position)s saved.") % {"position": rule.position})
                return redirect(rule.provider)
    return render(request, "federation/rule_form.html", {"form": form, "rule": rule, "provider": rule.provider},
                  status=status)


@permission_required_action("iam:identityProviders:update")
@sudo_required
@require_POST
def rule_delete(request, pk):
    rule = get_object_or_404(MappingRule.objects.select_related("provider"), pk=pk)
    try:
        services.rule_delete(actor=request.user, rule=rule)
    except Refused as refused:
        messages.error(request, refused.explanation.summary)
        return _detail(request, rule.provider, status=403)
    messages.success(request, gettext("Rule %(position)s deleted.") % {"position": rule.position})
    return redirect(rule.provider)


@permission_required_action("iam:identityProviders:update")
@sudo_required
@require_POST
def rule_move(request, pk):
    rule = get_object_or_404(MappingRule.objects.select_related("provider"), pk=pk)
    try:
        services.rule_move(actor=request.user, rule=rule, up=request.POST.get("direction") != "down")
    except Refused as refused:
        messages.error(request, refused.explanation.summary)
        return _detail(request, rule.provider, status=403)
    return redirect(rule.provider)


# --- signing in --------------------------------------------------------------------------------


def _turned_away(request, provider, reason: str, *, status: int = 403, audit_it: bool = True, claims=None,
                 user=None):
    if audit_it:
        services.record_refusal(provider, reason, claims=claims, user=user)  # the audit log keeps English
    context = {"provider": provider, "reason": localized(reason)}
    return render(request, "federation/signin_refused.html", context, status=status)


def _disabled(provider) -> Message:
    return Message(gettext_noop("sign-in with %(provider)s is disabled"), provider=provider.name)


def _safe_next(request, candidate: str) -> bool:
    return url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure())


@public_view
@never_cache
@require_http_methods(["GET", "HEAD"])
def oidc_login(request, pk):
    """"Sign in with <provider>": to the provider's authorization endpoint (PKCE S256, state, nonce)."""
    provider = get_object_or_404(IdentityProvider, pk=pk)
    if not provider.is_active:
        return _turned_away(request, provider, _disabled(provider), status=403)
    next_url = request.GET.get("next", "")
    if next_url and not _safe_next(request, next_url):
        services.record_refusal(provider, Message(gettext_noop("the address to go to after signing in, %(address)s, "
                                                               "is not on this site (open redirect); going to the "
                                                               "home page instead"), address=repr(next_url[:200])))
        next_url = ""
    request.session[NEXT_SESSION_KEY] = next_url
    try:
        return oidc.ProviderClient(provider).authorize_redirect(request, redirect_uri(request, provider))
    except oidc.PROTOCOL_ERRORS as error:
        return _turned_away(request, provider, oidc.describe_error(error), status=502)


@public_view
@never_cache
@require_http_methods(["GET"])
def oidc_callback(request, pk):
    """The provider sends the person back here with a code: Authlib checks state, exchanges the code
    (with the PKCE verifier) and verifies the ID token; the rules decide the groups."""
    provider = get_object_or_404(IdentityProvider, pk=pk)
    if not provider.is_active:
        return _turned_away(request, provider, _disabled(provider))
    try:
        claims = _verified_claims(request, oidc.ProviderClient(provider))
    except oidc.PROTOCOL_ERRORS as error:
        return _turned_away(request, provider, oidc.describe_error(error))
    try:
        outcome = services.apply_sign_in(provider, claims)
    except IntegrityError:  # the same person's first sign-in finished in another request just now
        outcome = services.apply_sign_in(provider, claims)
    if outcome.refusal:
        return _turned_away(request, provider, outcome.refusal, claims=claims, user=outcome.user)
    user = outcome.user
    next_url = request.session.pop(NEXT_SESSION_KEY, "")
    if next_url and not _safe_next(request, next_url):
        next_url = ""
    mfa_at = trust.trusted_mfa_at(provider, claims)
    audit.record(actor=user, action=services.SIGN_IN_ACTION, target=provider, outcome=AuditEvent.Outcome.ALLOWED,
                 message=_signed_in_message(provider, outcome, claims, mfa_at),
                 details={"subject": str(claims.get("sub"))[:200], "added": outcome.added, "removed": outcome.removed,
                          "amr": trust.amr_values(claims)[:10], "provider_mfa_trusted": mfa_at is not None})
    return _signed_in(request, provider, user, next_url, mfa_at)


def _signed_in(request, provider, user, next_url: str, mfa_at: float | None):
    """Into the console: at once when the provider's MFA is trusted (MFA-present from its auth_time),
    else through the console's own second factor when the person has one."""
    trust.forget(request)  # nothing an earlier sign-in of this session vouched for carries over
    user.backend = BACKEND
    if mfa_at is None and mfa.has_mfa(user):
        mfa.start_pending(request, user, next_url)
        return redirect("login-code")
    auth_login(request, user, backend=BACKEND)
    if mfa_at is not None:
        trust.mark(request, provider, user, mfa_at)
    return redirect(next_url or settings.LOGIN_REDIRECT_URL)


def _verified_claims(request, client) -> dict:
    """The person's claims from the verified ID token, with the userinfo answer's added when the provider
    has that endpoint (it must be about the same subject; the token's protocol claims win)."""
    token = client.authorize_access_token(request)
    if "userinfo" not in token:
        raise oidc.ProviderConfigurationError("the provider answered without a verified ID token")
    claims = dict(token["userinfo"])
    if not client.load_server_metadata().get("userinfo_endpoint"):
        return claims
    extra = dict(client.userinfo(token=token))
    if str(extra.get("sub")) != str(claims.get("sub")):
        raise oidc.ProviderConfigurationError("the userinfo answer is about another subject than the ID token")
    # What the ID token says about the sign-in itself, `amr` and `auth_time` included, is never the userinfo's.
    protocol = {k: claims[k] for k in PROTOCOL_CLAIMS if k in claims}
    extra = {k: v for k, v in extra.items() if k not in PROTOCOL_CLAIMS}
    return {**claims, **extra, **protocol}


def _signed_in_message(provider, outcome, claims, mfa_at) -> str:
    """The audit message of a sign-in: created or not, the rules that matched, the groups added and removed,
    whether the provider's MFA was taken as the console's. English, worded clause by clause for the audit log
    to show in the reader's language (accounts.wording)."""
    clauses = [Message(gettext_noop("Signed in with %(name)s (user created just in time)") if outcome.created
                       else gettext_noop("Signed in with %(name)s"), name=provider.name)]
    if outcome.evaluation.matched:
        clauses.append(Message(gettext_noop("rules %(positions)s matched"),
                               positions=", ".join(map(str, outcome.evaluation.matched_positions))))
    if outcome.added:
        clauses.append(Message(gettext_noop("added to %(groups)s"), groups=", ".join(outcome.added)))
    if outcome.removed:
        clauses.append(Message(gettext_noop("removed from %(groups)s"), groups=", ".join(outcome.removed)))
    mfa_words = _mfa_words(provider, claims, mfa_at)
    if mfa_words:
        clauses.append(mfa_words)
    joined = clauses[-1]
    for clause in reversed(clauses[:-1]):
        joined = Message(gettext_noop("%(first)s; %(then)s"), first=clause, then=joined)
    return Message(gettext_noop("%(clauses)s."), clauses=joined)


def _mfa_words(provider, claims, mfa_at) -> Message | None:
    if mfa_at is not None:
        return Message(gettext_noop("its MFA (amr) trusted as the console's"))
    if trust.provider_did_mfa(claims):
        return Message(gettext_noop("its MFA (amr) not trusted by this provider's settings"))
    return None


def active_providers():
    return IdentityProvider.objects.filter(is_active=True).order_by("name")


