"""The console's navigation: every entry present, those the user cannot reach disabled."""

import functools
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _

from . import authz
from .iac.export import EXPORT_ACTIONS
from .process_cache import ProcessCache
from .selectors import all_projects

# (section, label, url name, action(s) needed, needs a project) — the catalogue names the actions.
NAVIGATION = (
    (gettext_noop("Images"), gettext_noop("Images"), "images:list", "ims:images:list", True),
    (gettext_noop("Images"), gettext_noop("My permissions"), "accounts:my-permissions", None, False),
    (gettext_noop("IAM"), gettext_noop("Users"), "iam:user-list", "iam:users:listUsers", False),
    (gettext_noop("IAM"), gettext_noop("User groups"), "iam:group-list", "iam:groups:listGroups", False),
    (gettext_noop("IAM"), gettext_noop("Policies"), "iam:policy-list", "iam:roles:listRoles", False),
    (gettext_noop("IAM"), gettext_noop("Policy simulator"), "iam:simulator", "iam:permissions:listPermissions", False),
    (gettext_noop("IAM"), gettext_noop("Projects"), "iam:project-list", "iam:projects:listProjects", False),
    (gettext_noop("IAM"), gettext_noop("Identity providers"), "federation:provider-list",
     "iam:identityProviders:list", False),
    (gettext_noop("IAM"), gettext_noop("Access requests"), "iam:access-request-list", "iam:accessRequests:list", False),
    (gettext_noop("IAM"), gettext_noop("Audit log"), "iam:audit", "iam:audit:listEvents", False),
    (gettext_noop("IAM"), gettext_noop("Configuration"), "iam:config", EXPORT_ACTIONS, False),
    (gettext_noop("Account"), gettext_noop("Sign-in security"), "accounts:mfa", None, False),
    (gettext_noop("Account"), gettext_noop("API tokens"), "api-tokens:list", None, False),
    (gettext_noop("Account"), gettext_noop("My access requests"), "iam:access-request-mine", None, False),
    (gettext_noop("Account"), gettext_noop("Preferences"), "preferences:settings", None, False),
)


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    enabled: bool
    active: bool
    reason: str


@functools.cache
def _navigation_urls(script_prefix: str, urlconf) -> dict[str, str]:
    """Every entry's URL, reversed once per script prefix and URL configuration (not on every page)."""
    return {url_name: reverse(url_name, urlconf=urlconf) for url_name in [*NAV_URL_NAMES, "admin:index"]}


NAV_URL_NAMES = [url_name for _, _, url_name, _, _ in NAVIGATION]


def _decisions(request) -> tuple[tuple, str | None, bool]:
    """What the side menu shows of this request: each entry's decision (enabled, and the missing actions
    when an entry needs several), the current entry's URL, whether the Django admin entry is shown."""
    authorization = authz.authorization_for(request.user)
    urls = _navigation_urls(get_script_prefix(), get_urlconf())
    # The entry whose URL is the longest prefix of the path is the current one: /iam/access-requests/mine/
    # highlights My access requests, not Access requests as well.
    current = max((url for url in urls.values() if request.path.startswith(url)), key=len, default=None)
    decisions = []
    for _section, _label, _url_name, action, per_project in NAVIGATION:
        if action is None:
            decisions.append((True, None))
        elif per_project:
            decisions.append((any(authorization.allows(action, p) for p in all_projects(request)), action))
        elif isinstance(action, tuple):
            missing = [name for name in action if not authorization.allows(name)]
            decisions.append((not missing, ", ".join(missing)))
        else:
            decisions.append((authorization.allows(action), action))
    return tuple(decisions), current, bool(request.user.is_staff)


def _sections(decisions: tuple, current: str | None, is_staff: bool) -> tuple:
    """The side menu's sections for one state of it, in the active language."""
    urls = _navigation_urls(get_script_prefix(), get_urlconf())
    sections: dict[str, list[NavItem]] = {}
    for (section, label, url_name, _action, _per_project), (enabled, action) in zip(NAVIGATION, decisions,
                                                                                     strict=True):
        url = urls[url_name]
        reason = "" if enabled else _("You need %(action)s to open this page.") % {"action": action}
        sections.setdefault(_(section), []).append(
            NavItem(_(label), url, enabled, url == current, reason)
        )
    items = [(title, tuple(entries)) for title, entries in sections.items()]
    if is_staff:
        admin_entry = NavItem(_("Django admin"), urls["admin:index"], True, False, "")
        items.append((_("Operators"), (admin_entry,)))
    return tuple(items)


def build_navigation(request):
    """The side menu's sections for this request: every entry's label, URL, state and reason."""
    return _sections(*_decisions(request))


_NAVIGATION: ProcessCache[str] = ProcessCache("side menus", 256)


def navigation_html(sections: tuple) -> str:
    """The side menu's HTML for one state of it (every entry's label, URL, state and reason): a
    handful of states per user, drawn once per process rather than on every page."""
    return _NAVIGATION.get_or_build((get_language(), sections), lambda: render_to_string(
        "partials/console_nav.html", {"sections": [{"title": title, "items": items} for title, items in sections]}))


_NAVIGATION_STATES: ProcessCache[str] = ProcessCache("side menu states", 1024)


def navigation_for(request) -> str:
    """The side menu's HTML for this request: decided on every request (the engine, in memory), labelled
    and drawn once per process for each state (decisions, current entry, language, URLs)."""
    state = _decisions(request)
    key = (get_language(), get_script_prefix(), get_urlconf(), *state)
    return _NAVIGATION_STATES.get_or_build(key, lambda: navigation_html(_sections(*state)))


def console(request):
    """`console_nav`: the side menu, decided and drawn only by a page that shows it (a callable the
    template calls), not by the fragments htmx asks for."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"console_nav": lambda: navigation_for(request)}
