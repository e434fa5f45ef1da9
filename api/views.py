"""API tokens on the signed-in user's own pages: list, create (the secret shown once), revoke."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import login_only
from accounts.sudo import sudo_required

from . import services
from .models import ApiToken


class TokenForm(forms.Form):
    name = forms.CharField(max_length=64, label="Token name",
                           help_text="Say what will use it, e.g. the deployment service.")


def _page(request, form=None, status=200):
    tokens = ApiToken.objects.filter(user=request.user)
    context = {"tokens": tokens, "form": form or TokenForm()}
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
        messages.success(request, f"API token {token.name} is revoked: calls with it are refused from now on.")
    return redirect("api-tokens:list")
