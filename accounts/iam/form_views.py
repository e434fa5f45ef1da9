"""The IAM pages' create / edit / delete scaffold, written once (issue 22).

A view states its form, its service call and its messages; these functions do the rest the same way
on every page: GET draws the form; a valid POST calls the service; success is a message and a
redirect; a service's ValidationError is shown on the form (422); a form older than the last save
answers 409 beside the values saved meanwhile (StaleEditError); a refused delete goes back to the
object with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render

from accounts.forms import add_service_errors
from accounts.services._common import StaleEditError

# What a successful save returns: the success message and where to go (a model with a URL, a URL
# name, or a finished response such as a redirect that also sets a cookie).
Saved = tuple[str, object]


def save_form(request, form, save: Callable[[dict], Saved], *, on_stale=None) -> HttpResponse | None:
    """A posted form through its service: the redirect on success, the 409 answer from `on_stale(stale)`
    on a stale revision, else None with the service's errors on the form (the page draws it again)."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        message, to = save(form.cleaned_data)
    except ValidationError as error:
        if on_stale is not None and isinstance(error, StaleEditError):
            return on_stale(error)
        add_service_errors(form, error)
        return None
    messages.success(request, message)
    return to if isinstance(to, HttpResponse) else redirect(to)


def form_page(request, form, save: Callable[[dict], Saved], *, template: str, context: dict,
              stale_as: str = "", stale_fields: Sequence[str] = ()) -> HttpResponse:
    """The whole create or edit page: GET draws `template` with the form; POST as `save_form`; the form
    again with its errors is 422. With `stale_fields`, a stale save answers 409 showing those fields of
    the row saved meanwhile (as `stale_as` in the template's context)."""
    def on_stale(stale):
        values = [(form[field].label, getattr(stale.current, field)) for field in stale_fields]
        return stale_form(request, template, form, stale, {stale_as: stale.current}, values)

    response = save_form(request, form, save, on_stale=on_stale if stale_fields else None)
    if response is not None:
        return response
    return render(request, template, {"form": form, **context}, status=422 if form.errors else 200)


def stale_form(request, template, form, stale: StaleEditError, context, values):
    """409: the form keeps what was typed, now at the current revision, beside the values saved
    meanwhile (as the image and policy editors answer), so saving again is a deliberate overwrite."""
    current = stale.current
    form.data = form.data.copy()
    form.data["revision"] = current.revision
    form.add_error(None, stale.messages)
    conflict = {"revision": current.revision, "values": [(label, value or "—") for label, value in values]}
    return render(request, template, {**context, "form": form, "conflict": conflict}, status=409)


def delete_page(request, obj, delete: Callable[[], str], *, done: str, template: str,
                context: Callable[[], dict]) -> HttpResponse:
    """GET: the confirmation page (`context()` is read only then); POST: `delete()` returns the success
    message and the page goes to `done`; a refusal (ValidationError) goes back to the object with it."""
    if request.method != "POST":
        return render(request, template, context())
    try:
        message = delete()
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(obj)
    messages.success(request, message)
    return redirect(done)
