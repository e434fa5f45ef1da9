"""The Configuration page: export the IAM configuration, import a file with its plan, confirm, apply.

Thin views over accounts.iac: reading the page, the export and a plan needs every read the
document contains (iac.EXPORT_ACTIONS); the writes are checked by the services on apply, as the
signed-in user. The confirmation carries the document's hash and the stored configuration's
hash from the plan: if either changed, the page plans again instead of applying.

Before any work on a posted file (accounts.iac.limits): someone whose permissions allow none of an
import's changes is refused (403); a body or a document over MAX_BYTES answers 413, a document of
more than MAX_ENTRIES entries 422 — each before the file is parsed or planned.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from accounts import iac, responses, wording
from accounts.enforcement import record_refusal
from accounts.iac import limits
from accounts.permissions import permission_required_action, public_view


class ImportForm(forms.Form):
    document = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}),
                               label=gettext_lazy("Paste a configuration"), strip=False)
    file = forms.FileField(required=False, label=gettext_lazy("or upload a file"),
                           help_text=format_lazy(gettext_lazy("A JSON file written by Export or iam_export: at most "
                                                              "{mebibytes} MiB and {entries} entries."),
                                                 mebibytes=limits.MAX_BYTES // 1024 // 1024,
                                                 entries=f"{limits.MAX_ENTRIES:,}"))
    prune = forms.BooleanField(required=False, label=gettext_lazy("Prune: also remove what the file does not list"),
                               help_text=gettext_lazy("Users, groups, custom policies, members and grants. Regions "
                                                      "and projects are never removed."))

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        if upload is not None:
            if upload.size > limits.MAX_BYTES:  # the view answers 413 before: kept for any other caller
                raise forms.ValidationError({"file": forms.ValidationError(
                    wording.lazy(limits.bytes_refusal(upload.size)))})
            try:
                data["text"] = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise forms.ValidationError({"file": forms.ValidationError(
                    gettext_lazy("The file is not UTF-8 text."))}) from None
        else:
            data["text"] = data.get("document") or ""
        if not data["text"].strip():
            raise forms.ValidationError(gettext_lazy("Paste a configuration or choose a file."))
        return data


class ConfirmForm(forms.Form):
    document = forms.CharField(strip=False, widget=forms.HiddenInput)
    document_hash = forms.CharField(widget=forms.HiddenInput)
    config_hash = forms.CharField(widget=forms.HiddenInput)
    prune = forms.BooleanField(required=False, widget=forms.HiddenInput)


def _planned(request, text: str, prune: bool, *, notice: str = "", status: int = 200):
    """Parse and plan `text` as the signed-in user; the page shows the plan, or the located errors."""
    context = {"form": ImportForm(initial={"document": text, "prune": prune}), "notice": notice}
    try:
        configuration = iac.parse_text(text)
    except iac.DocumentError as error:
        context["errors"] = error.errors
        return render(request, "iam/config/page.html", context, status=422)
    plan = iac.trial_plan(configuration, actor=request.user, prune=prune, max_changes=limits.MAX_CHANGES)
    context["plan"] = plan
    if plan.errors:
        context["errors"] = plan.errors
        return render(request, "iam/config/page.html", context, status=422)
    context["confirm"] = ConfirmForm(initial={"document": iac.dumps(configuration), "document_hash": plan.document_hash,
                                              "config_hash": plan.config_hash, "prune": prune})
    return render(request, "iam/config/page.html", context, status=status)


@permission_required_action(*iac.EXPORT_ACTIONS)
@require_http_methods(["GET", "POST"])
def configuration(request):
    """GET: Export and the import form. POST: the plan of a pasted or uploaded file; with
    `confirm`, apply the planned file (planned again if anything changed since)."""
    if request.method == "GET":
        return render(request, "iam/config/page.html", {"form": ImportForm()})
    refused = _refused_before_reading(request)
    if refused is not None:
        return refused
    if "confirm" in request.POST:
        return _confirm(request)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "iam/config/page.html", {"form": form}, status=422)
    if "file" in request.FILES:
        refusal = limits.entries_refusal(form.cleaned_data["text"])
        if refusal is not None:
            return _limit_page(request, refusal, 422)
    return _planned(request, form.cleaned_data["text"], form.cleaned_data["prune"])


def _refused_before_reading(request):
    """Who may import, and how much: answered before the file is parsed or planned (None: go on)."""
    refusal = limits.import_refusal(request.user)
    if refusal is not None:  # audited like every refusal (the one recorder), then the 403
        record_refusal(request.user, "iam:config:import", message=refusal, target_type="page",
                       target_repr=request.path, details={"method": request.method})
        raise PermissionDenied(refusal)  # audited above in English; the 403 page reads it in the person's language
    if int(request.META.get("CONTENT_LENGTH") or 0) > limits.MAX_REQUEST_BYTES:
        return responses.payload_too_large(request, gettext("The request is larger than any configuration file it "
                                                            "may carry."))
    upload = request.FILES.get("file")
    if upload is not None and upload.size > limits.MAX_BYTES:
        return _limit_page(request, limits.bytes_refusal(upload.size), 413)
    text = request.POST.get("document") or ""
    if upload is None and "confirm" not in request.POST and not text.strip():
        return None
    if upload is not None:
        return None  # its entries are counted once it is read (the form decodes it)
    refusal = limits.size_refusal(text)
    if refusal is not None:
        return _limit_page(request, refusal, 413)
    refusal = limits.entries_refusal(text)
    if refusal is not None:
        return _limit_page(request, refusal, 422)
    return None


def _limit_page(request, message: str, status: int):
    """The page with the limit's message; the document is not echoed back."""
    return render(request, "iam/config/page.html", {"form": ImportForm(), "errors": [("$", message)]}, status=status)


def _confirm(request):
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        return render(request, "iam/config/page.html", {"form": ImportForm(), "errors": [
            ("$", gettext("The confirmation was incomplete: paste or upload the file again."))]}, status=400)
    data = form.cleaned_data
    text, prune = data["document"], data["prune"]
    try:
        configuration = iac.parse_text(text)
    except iac.DocumentError:
        return _planned(request, text, prune)
    if iac.digest(iac.dumps(configuration)) != data["document_hash"]:
        return _planned(request, text, prune, status=409,
                        notice=gettext("The document is not the one that was planned: review this plan."))
    too_many = limits.changes_refusal(iac.build_plan(configuration, prune=prune).changes)  # no lock: linear
    if too_many:
        return _limit_page(request, too_many[0][1], 422)
    try:
        result = iac.apply_configuration(configuration, actor=request.user, prune=prune,
                                         expected_config_hash=data["config_hash"], source="console import")
    except iac.StaleConfiguration:
        return _planned(request, text, prune, status=409,
                        notice=gettext("The configuration changed since you reviewed the plan (someone else made a "
                                       "change): here is the plan against what is stored now. Nothing was applied."))
    except iac.DocumentError as error:
        context = {"form": ImportForm(initial={"document": text, "prune": prune}), "errors": error.errors}
        return render(request, "iam/config/page.html", context, status=422)
    return render(request, "iam/config/page.html", {"result": result, "form": ImportForm()})


@permission_required_action(*iac.EXPORT_ACTIONS)
@require_GET
def configuration_export(request):
    """The stored configuration as a JSON file download (users without passwords)."""
    response = HttpResponse(iac.export_text(), content_type="application/json; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="imsperm-iam-{stamp}.json"'
    return response


@public_view
@require_GET
def configuration_schema(request):
    """The JSON Schema of the configuration file (it describes the format, nothing stored)."""
    return JsonResponse(iac.json_schema(), json_dumps_params={"indent": 2})
