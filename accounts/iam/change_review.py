"""The review step of a change made by one button (a member added or removed, a user (de)activated):
GET on the button's own URL shows what the POST would do, with its impact (accounts/impact.py); for
htmx (the console's confirmation dialog) only the impact fragment. The POST stays the change itself,
decided again by the server, so the button works without JavaScript."""

from __future__ import annotations

from django.shortcuts import render

from accounts import impact


def review_page(request, preview, *, question: str, button: str, data_action: str, back_url: str,
                refusal: str | None = None, single: bool = True, danger: bool = False):
    """The review of posting `request.GET` to `request.path`: the question, the impact, the button."""
    context = {"question": question, "button": button, "data_action": data_action, "back_url": back_url,
               "refusal": refusal, "impact_single": single, "danger": danger, "action_url": request.path,
               "hidden": [(name, value) for name, values in request.GET.lists() for value in values],
               **impact.for_page(request.authorization, preview)}
    template = "iam/change_review.html#impact" if request.htmx else "iam/change_review.html"
    return render(request, template, context)
