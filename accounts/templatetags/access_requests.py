"""Access request links and the top bar's badge (issue 21).

`{% request_access_url asked as url %}`: the pre-filled "Request access" form for a refusal's decision (plain
when no grant would change it); `{% request_access_for action project as url %}`; both are "" when
the viewer may not ask (the engine decides: iam:accessRequests:create), so the link is not drawn.
`{% access_request_badge %}`.
"""

from django import template

from accounts import access_requests, authz

register = template.Library()


def _viewer(context):
    request = context.get("request")
    return getattr(request, "user", None) or context.get("user")


@register.simple_tag(takes_context=True)
def request_access_url(context, asked=None) -> str:
    """The form to ask for what a refusal is missing (`asked`: accounts.access_requests.asked_for of the
    engine's decision, pre-filled when it refused for want of a grant; the plain form otherwise), or "" when
    the viewer may not ask."""
    if not access_requests.may_ask(_viewer(context)):
        return ""
    return access_requests.request_url(**asked) if asked else access_requests.request_url()


@register.simple_tag(takes_context=True)
def request_access_for(context, action="", project=""):
    """`{% request_access_for row_action cell.project.name as url %}`: the form pre-filled with both, or ""
    when the viewer may not ask."""
    if not access_requests.may_ask(_viewer(context)):
        return ""
    return access_requests.request_url(action=action, project=project or None)


@register.simple_tag(takes_context=True)
def access_request_badge_shown(context) -> bool:
    """Whether the top bar shows the badge's slot: the viewer may see the queue (decided without a query).
    `{% access_request_badge_shown as shown %}`: an input of the cached top bar (accounts/templatetags/chrome.py)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    authorization = authz.authorization_for(user) if user is not None else None
    return authorization is not None and authorization.allows("iam:accessRequests:list")


@register.inclusion_tag("iam/access_requests/_badge_slot.html", takes_context=True)
def access_request_badge(context):
    """Where the top bar's badge goes, for those who may see the queue (decided without a query): htmx
    fetches the count once the page has loaded, so no page pays for it (accounts.iam.access_requests)."""
    return {"show": access_request_badge_shown(context)}


@register.filter
def access_duration(duration) -> str:
    """'8 hours', '1 day', in the reader's language."""
    from accounts.findings import localized
    from accounts.services.access_requests import duration_text

    return localized(duration_text(duration))
