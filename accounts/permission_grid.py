"""Grid cells of permissions (My permissions, the simulator's effective permissions): the answer
the server gives here without an image, and whether some images or requests answer otherwise.

A plain ✔ would lie where a Deny has conditions (some images are refused) and a plain ✘ where
an Allow has them (some images are allowed); explicit and implicit denies look different too.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext, gettext_noop

from accounts.policy import IMS_ACTIONS

from . import authz, mfa

ALLOWED, ALLOWED_EXCEPT, CONDITIONAL, DENIED, NOT_GRANTED = (
    "allow", "allow-except", "conditional", "explicit-deny", "not-granted")
LABELS = {
    ALLOWED: gettext_noop("✔ Allowed"),
    ALLOWED_EXCEPT: gettext_noop("✔ Allowed, denied for some images"),
    CONDITIONAL: gettext_noop("◐ Allowed with conditions"),
    DENIED: gettext_noop("✘ Denied explicitly"),
    NOT_GRANTED: gettext_noop("– Not granted"),
}  # translated when a page reads them (cells are built once for every language)
NOTES = {
    ALLOWED_EXCEPT: gettext_noop("A Deny with conditions names this action: images (or requests) that meet them are "
                                 "refused."),
    CONDITIONAL: gettext_noop("Only an Allow with conditions names this action: images (or requests) that meet them "
                              "are allowed."),
}


@dataclass(frozen=True)
class Cell:
    project: object
    decisions: tuple  # one authz.Explanation per action of the row
    state: str
    depends_on_mfa: bool

    @property
    def allowed(self) -> bool:
        return self.state in (ALLOWED, ALLOWED_EXCEPT)

    @property
    def label(self) -> str:
        return gettext(LABELS[self.state])

    @property
    def note(self) -> str:
        note = NOTES.get(self.state)
        return gettext(note) if note else ""

    @property
    def until(self):
        """When an allowed cell stops being allowed because its allowing grants end (None: they do not)."""
        if not self.allowed:
            return None
        ends = [item[0].expires for d in self.decisions for item in d.matched if not isinstance(item, authz.Reason)]
        if not ends or any(end is None for end in ends):
            return None
        return max(ends)

    @property
    def outcome(self) -> str:
        """The engine's outcome for a one-action row (what the simulator's grid has always shown)."""
        return self.decisions[0].outcome if len(self.decisions) == 1 else ("allow" if self.allowed else "implicit_deny")


def cell(authorization, actions, project) -> Cell:
    """The cell for `actions` (all needed) in `project`, for an Authorization or None (anonymous)."""
    if authorization is None:
        decisions = tuple(authz.Explanation(a, project.name, "implicit_deny") for a in actions)
        return Cell(project, decisions, NOT_GRANTED, False)
    decisions = tuple(authorization.decide(a, project) for a in actions)
    effects = [authorization.conditional_effects(a, project) for a in actions]
    if all(d.allowed for d in decisions):
        state = ALLOWED_EXCEPT if any("Deny" in e for e in effects) else ALLOWED
    elif any(d.outcome == "explicit_deny" for d in decisions):
        state = DENIED
    elif all(d.allowed or "Allow" in e for d, e in zip(decisions, effects, strict=True)):
        state = CONDITIONAL
    else:
        state = NOT_GRANTED
    depends_on_mfa = any(mfa.MFA_CONDITION_KEYS & authorization.condition_keys_read(a, project) for a in actions)
    return Cell(project, decisions, state, depends_on_mfa)


def ims_grid(user, projects) -> list[tuple[object, list[Cell]]]:
    """Every IMS action × every project (the simulator's effective permissions)."""
    return authorization_grid(authz.authorization_for(user), projects)


def authorization_grid(authorization, projects) -> list[tuple[object, list[Cell]]]:
    """Every IMS action × every project for any Authorization (a user's, or a group's or policy's alone)."""
    return [(action, [cell(authorization, (action.name,), project) for project in projects]) for action in IMS_ACTIONS]
