"""Page permissions: every view declares what it needs; one check decides, refuses and audits.

In the style of NetBox's `ObjectPermissionRequiredMixin`. A view declares its catalogue
action(s) with `permission_required_action`, or that it needs none (`public_view`,
`login_only`). The declaration is attached to the view function as `required_permission`, so
the route crawler (tests/test_route_crawler.py) reads it from the URL resolver and derives every
expected answer from it and the engine, never from the view.

Global actions (the IAM console's) are decided by the decorator before the view runs. Views
whose decision needs the project or image they work on (the image browser) declare every action
they may need and decide inside with `check`, the very function the decorator uses. `check`
refuses an action its view did not declare, so a declaration cannot drift from the code.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured

from . import authz, last_used
from .enforcement import Denied, record_refusal

DECLARATION_ATTR = "required_permission"


@dataclass(frozen=True)
class Declaration:
    """What a view needs before it answers: nothing, a signed-in user, or catalogue actions.

    `any_of`: one of `actions` suffices (else every one is needed). `in_view`: the view decides
    on the project or image it works on (the crawler supplies them). `action_from_url`: the one
    action a request needs, from the URL's kwargs (the image operation named in the URL).
    """

    sign_in: bool
    actions: tuple[str, ...] = ()
    any_of: bool = False
    in_view: bool = False
    action_from_url: Callable[[dict], str | None] | None = None

    def actions_for(self, url_kwargs: dict) -> tuple[str, ...]:
        """The actions a request to this URL needs."""
        if self.action_from_url is not None:
            action = self.action_from_url(url_kwargs)
            return (action,) if action else ()
        return self.actions


def declaration_of(view) -> Declaration | None:
    """The view's declaration, or None when it forgot to declare one."""
    return getattr(view, DECLARATION_ATTR, None)


def _declare(view, declaration: Declaration):
    setattr(view, DECLARATION_ATTR, declaration)
    return view


def public_view(view):
    """Declare that a view needs nothing, not even a signed-in user (sign-in, sign-out)."""
    return _declare(view, Declaration(sign_in=False))


def login_only(view):
    """Declare that a view needs a signed-in user and no action (home, My permissions)."""
    return _declare(login_required(view), Declaration(sign_in=True))


def permission_required_action(*actions: str, any_of: bool = False, in_view: bool = False,
                               action_from_url: Callable[[dict], str | None] | None = None):
    """Declare the catalogue actions a view needs; sign-in first, then the engine's answer.

    Global actions are decided here before the view runs (all of them, or one with `any_of`);
    with `in_view=True` the view calls `check` itself on its project or image. Either way the
    view receives the request's Authorization as `request.authorization`.
    """
    if not actions:
        raise ImproperlyConfigured("permission_required_action needs at least one action.")
    declaration = Declaration(sign_in=True, actions=tuple(actions), any_of=any_of, in_view=in_view,
                              action_from_url=action_from_url)

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            request.authorization = authz.authorization_for(request.user)
            if not in_view:
                if any_of:
                    allowing = next((d for d in map(request.authorization.decide, actions) if d.allowed), None)
                    if allowing is None:
                        check(request, actions[0])
                    else:
                        last_used.note(allowing)
                else:
                    for action in actions:
                        check(request, action)
            return view(request, *args, **kwargs)

        return _declare(login_required(wrapper), declaration)

    return decorator


def check(request, action: str, *, project=None, image=None, refuse: bool = True) -> authz.Explanation:
    """Decide `action` for the signed-in user; audit a refusal; raise PermissionDenied when `refuse`.

    An allowed decision is noted for "last used" (accounts.last_used, written after the response).
    The one page check: the 403 it raises is rendered by imsperm.errors (a page, or a fragment
    for htmx). A refusal is recorded as a `denied` event on the image, or on the page's path,
    and repeats within a minute are counted on that event (accounts.audit).
    """
    _ensure_declared(request, action)
    explanation = authz.decide(request.user, action, project=project, image=image)
    if explanation.allowed:
        last_used.note(explanation)
        return explanation
    details = {"method": request.method}
    if image is not None:
        details["path"] = request.path
        target = {"target": image}
    else:
        target = {"target_type": "page", "target_repr": request.path}
    record_refusal(request.user, explanation, project=project or getattr(image, "project", None), details=details,
                   **target)
    if refuse:
        deny(explanation)
    return explanation


def deny(explanation: authz.Explanation):
    """Refuse with the engine's explanation (after `check` has audited it); the 403 carries the decision."""
    raise Denied(explanation)


def _ensure_declared(request, action: str) -> None:
    """A view may check only what it declared: the crawler trusts the declaration."""
    match = getattr(request, "resolver_match", None)
    declaration = declaration_of(match.func) if match is not None else None
    if declaration is not None and action not in declaration.actions:
        raise ImproperlyConfigured(f"{match.view_name} checks {action} but declares only {declaration.actions}.")
