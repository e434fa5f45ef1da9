"""API tokens on the signed-in user's own pages: list, create (the secret shown once), revoke."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import DateTimeField, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.iam.directory_selectors import NEVER
from accounts.iam.sorting import Column, TableSort
from accounts.paging import CURSOR_PARAM, keyset_page
from accounts.permissions import login_only
from accounts.selectors import search_text
from accounts.sudo import sudo_required

from . import services
from .models import ApiToken


class TokenForm(forms.Form):
    name = forms.CharField(max_length=64, label=gettext_lazy("Token name"),
                           help_text=gettext_lazy("Say what will use it, e.g. the deployment service."))


TOKEN_SORT = TableSort((
    Column("name", gettext_lazy("Name"), ("name", "id")),
    Column("token", gettext_lazy("Token"), ("prefix", "id")),
    Column("created", gettext_lazy("Created"), ("created_at", "id")),
    Column("used", gettext_lazy("Last used"), ("used", "id")),
    Column("status", gettext_lazy("Status"), ("revoked", "id")),
    Column("actions", gettext_lazy("Actions")),
), default="-created")
TOKEN_PAGE_SIZE = 25


def _page(request, form=None, status=200):
    """Your tokens searched by name and sorted by any column (in the URL), a page at a time."""
    text = search_text(request)
    tokens = ApiToken.objects.filter(user=request.user).annotate(
        used=Coalesce("last_used_at", Value(NEVER, output_field=DateTimeField())),
        revoked=Coalesce("revoked_at", Value(NEVER, output_field=DateTimeField())))
    if text:
        tokens = tokens.filter(name__icontains=text)
    sort = TOKEN_SORT.chosen(request.GET)
    page = keyset_page(tokens, TOKEN_SORT.order(sort), size=TOKEN_PAGE_SIZE, cursor=request.GET.get(CURSOR_PARAM, ""))
    context = {"page": page, "form": form or TokenForm(), "q": text, "sort": sort,
               "headers": TOKEN_SORT.headers(request, sort)}
    if request.htmx and request.htmx.target == "token-results":
        return render(request, "api/tokens.html#results", context, status=status)
    return render(request, "api/tokens.html", context, status=status)


@login_only
@require_GET
def token_list(request):
    """Your API tokens: name, first characters, when created and last used, revoked or not."""
    return _page(request)


@login_only
@require_POST
@sudo_required(back="api-tokens:list")
def token_create(request):
    """A new token; its secret is in this answer only (the console keeps a SHA-256 digest). A credential:
    created only within a few minutes of the password (accounts.sudo)."""
    form = TokenForm(request.POST)
    if form.is_valid():
        try:
            token, secret = services.api_token_create(actor=request.user, name=form.cleaned_data["name"])
        except ValidationError as error:
            form.add_error("name", error)
        else:
            return render(request, "api/token_created.html", {"token": token, "secret": secret}, status=201)
    return _page(request, form, status=400)


@login_only
@require_POST
def token_revoke(request, pk):
    """Revoke one of your tokens (another person's answers 404: it is not on your page)."""
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    try:
        services.api_token_revoke(actor=request.user, token=token)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, (gettext("API token %(name)s is revoked: calls with it are refused from now on.")
                                   % {"name": token.name}))
    return redirect("api-tokens:list")
