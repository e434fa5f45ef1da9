"""What a file gets wrong by itself, found before anything is planned: located errors.

Duplicate names (letter case aside), members, groups, policies and projects the file uses but does
not define, projects outside their region, policy documents the validator refuses, scopes a policy
of IAM actions cannot have, and explicit grants of a role's dependency narrower than the role's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from accounts import services
from accounts.policy.messages import Message, gettext_noop
from accounts.services.policies import PolicyDocumentError

from .document import ALL_RESOURCES, Configuration
from .scopes import covers, scope_text

if TYPE_CHECKING:
    from .state import State


# Errors and warnings are English Messages (the CLI prints them, the audit log keeps them); the page
# translates them (accounts.findings.localized). Names, paths and values stay verbatim.
_ALREADY_LISTED = {
    "The region": gettext_noop("The region %(name)s is already listed at %(first)s (names that differ only in "
                               "letter case count as the same)"),
    "The user": gettext_noop("The user %(name)s is already listed at %(first)s (names that differ only in letter "
                             "case count as the same)"),
    "The group": gettext_noop("The group %(name)s is already listed at %(first)s (names that differ only in letter "
                              "case count as the same)"),
    "The policy": gettext_noop("The policy %(name)s is already listed at %(first)s (names that differ only in "
                               "letter case count as the same)"),
    "The grant": gettext_noop("The grant %(name)s is already listed at %(first)s (names that differ only in letter "
                              "case count as the same)"),
    "The project": gettext_noop("The project %(name)s is already listed at %(first)s (names that differ only in "
                                "letter case count as the same)"),
    "The identity provider": gettext_noop("The identity provider %(name)s is already listed at %(first)s (names "
                                          "that differ only in letter case count as the same)"),
}


def duplicates(errors, items, key, path, what):
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        folded = key(item).lower()
        if folded in seen:
            errors.append((f"{path}[{index}]", Message(_ALREADY_LISTED[what], name=repr(key(item)),
                                                       first=f"{path}[{seen[folded]}]")))
        else:
            seen[folded] = index


def check_references(configuration: Configuration, state: State, errors: list) -> None:
    """What the file itself gets wrong: duplicates, names it uses but does not define, scopes."""
    _check_duplicates(configuration, errors)
    projects = _check_regions(configuration, state, errors)
    _check_members(configuration, errors)
    names = _Names(projects=projects, groups={g.name for g in configuration.groups},
                   custom={p.name: p for p in configuration.policies},
                   system={name for name, p in state.policies.items() if p.is_system})
    _check_policies(configuration, names.system, errors)
    for index, grant in enumerate(configuration.grants):
        _check_grant(grant, f"$.grants[{index}]", state, names, errors)
    _check_dependency_scopes(configuration, state, errors)


@dataclass
class _Names:
    """What the file and the console define, for checking the grants' references."""

    projects: dict[str, str]  # filed project → its region
    groups: set[str]
    custom: dict  # filed policy name → its entry
    system: set[str]


def _check_duplicates(configuration: Configuration, errors: list) -> None:
    """Each list names an entry once (letter case aside): the plan is keyed by these names."""
    duplicates(errors, configuration.regions, lambda r: r.code, "$.regions", "The region")
    duplicates(errors, configuration.users, lambda u: u.username, "$.users", "The user")
    duplicates(errors, configuration.groups, lambda g: g.name, "$.groups", "The group")
    duplicates(errors, configuration.policies, lambda p: p.name, "$.policies", "The policy")
    duplicates(errors, configuration.grants, lambda g: f"{g.group} / {g.policy}", "$.grants", "The grant")


def _check_regions(configuration: Configuration, state: State, errors: list) -> dict[str, str]:
    """Projects are named after their region, stay in it, and each region lists its default project.
    Returns every filed project's region, by project name (the grants' scopes are checked against it)."""
    projects: dict[str, str] = {}
    for r_index, region in enumerate(configuration.regions):
        path = f"$.regions[{r_index}]"
        duplicates(errors, region.projects, lambda p: p.name, f"{path}.projects", "The project")
        for p_index, project in enumerate(region.projects):
            _check_project(region, project, f"{path}.projects[{p_index}].name", state, errors)
            projects[project.name] = region.code
        if region.code not in {p.name for p in region.projects}:
            errors.append((f"{path}.projects", Message(gettext_noop("The region's default project %(project)s is "
                                                                    "missing."), project=region.code)))
    return projects


def _check_project(region, project, where: str, state: State, errors: list) -> None:
    """A project's name starts with its region's code, and a stored project cannot move to another region."""
    if project.name != region.code and not project.name.startswith(f"{region.code}_"):
        errors.append((where, Message(gettext_noop("A project of %(region)s is named %(region)s or "
                                                   "%(region)s_<name>."), region=region.code)))
    stored = state.projects.get(project.name)
    if stored is not None and stored.region.code != region.code:
        errors.append((where, Message(gettext_noop("The project %(project)s belongs to the region %(region)s."),
                                      project=project.name, region=stored.region.code)))


def _check_members(configuration: Configuration, errors: list) -> None:
    """Members are users the file lists, each once in a group."""
    usernames = {u.username for u in configuration.users}
    for g_index, group in enumerate(configuration.groups):
        seen = set()
        for m_index, member in enumerate(group.members):
            where = f"$.groups[{g_index}].members[{m_index}]"
            if member not in usernames:
                errors.append((where, Message(gettext_noop("No user named %(name)s in users."), name=repr(member))))
            elif member in seen:
                errors.append((where, Message(gettext_noop("%(name)s is listed twice."), name=member)))
            seen.add(member)


def _check_policies(configuration: Configuration, system: set[str], errors: list) -> None:
    """Custom policies take no system name and hold documents the validator accepts (its errors, located)."""
    system_folded = {name.lower(): name for name in system}
    for p_index, policy in enumerate(configuration.policies):
        clash = system_folded.get(policy.name.lower())
        if clash:
            errors.append((f"$.policies[{p_index}].name",
                           Message(gettext_noop("%(name)s is a system-defined role or policy."), name=clash)))
        try:
            services.parse_policy_document(policy.document)
        except PolicyDocumentError as error:
            errors.extend((f"$.policies[{p_index}].document" + (f".{f.path}" if f.path else ""), f.message)
                          for f in error.findings if f.tier == "error")


def _check_grant(grant, where: str, state: State, names: _Names, errors: list) -> None:
    """A grant names a filed group and a known policy; its scope names filed projects, and a policy of
    IAM actions only (global) is granted on all resources."""
    if grant.group not in names.groups:
        errors.append((f"{where}.group", Message(gettext_noop("No group named %(name)s in groups."),
                                                 name=repr(grant.group))))
    if grant.policy not in names.custom and grant.policy not in names.system:
        errors.append((f"{where}.policy", Message(gettext_noop("No custom policy named %(name)s in policies, and no "
                                                           "system role or policy of that name."),
                                                  name=repr(grant.policy))))
        return
    if grant.scope == ALL_RESOURCES:
        return
    for s_index, name in enumerate(grant.scope):
        if name not in names.projects:
            errors.append((f"{where}.scope[{s_index}]", Message(gettext_noop("No project named %(name)s in regions."),
                                                                name=repr(name))))
    named = names.custom.get(grant.policy) or state.policies[grant.policy]
    if _global_only(named.document):
        errors.append((f"{where}.scope", Message(gettext_noop("%(policy)s names IAM actions only, which are global: "
                                                          "its scope is %(scope)s."),
                                                 policy=grant.policy, scope=repr(ALL_RESOURCES))))


def _check_dependency_scopes(configuration: Configuration, state: State, errors: list) -> None:
    """A role's dependency granted explicitly to the same group must cover the role's scope: attaching
    the role would otherwise widen (or the dependency's narrower grant would break) the dependency."""
    explicit = {(g.group, g.policy): (i, g.scope) for i, g in enumerate(configuration.grants)}
    for index, grant in enumerate(configuration.grants):
        for dependency in state.closure(grant.policy):
            found = explicit.get((grant.group, dependency))
            if found is not None and not covers(found[1], grant.scope):
                errors.append((f"$.grants[{found[0]}].scope", Message(
                    gettext_noop("%(policy)s needs %(dependency)s on its scope (%(scope)s), which this grant of "
                                 "%(dependency)s to %(group)s does not cover: it would break a role dependency (see "
                                 "%(path)s)."),
                    policy=grant.policy, dependency=dependency, scope=scope_text(grant.scope), group=grant.group,
                    path=f"$.grants[{index}]")))


def _global_only(document: dict) -> bool:
    patterns = {p.split(":", 1)[0].lower() for s in document.get("Statement", []) for p in s.get("Action", [])}
    return patterns == {"iam"}
