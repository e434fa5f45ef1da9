"""Building a plan: the file compared with the stored configuration, each difference a change and a step.

`build_plan` loads the stored configuration (a fixed number of queries), checks the file
(checks.py), then plans regions and projects, users, custom policies, groups and their members,
grants (grant_planning.py) and identity providers, in that order: each difference becomes a
readable `Change` and a `Step` calling the same service the console does.
"""

from __future__ import annotations

import json

from accounts import services
from accounts.models import ADMIN_GROUP_NAME, Policy, Project, Region, User, UserGroup
from accounts.policy.messages import Message, gettext_noop

from .checks import check_references, duplicates
from .document import Configuration, digest, dumps
from .grant_planning import plan_grants
from .plan import Change, Plan, Step
from .state import USER_FIELDS, State, touch, touch_group


def build_plan(configuration: Configuration, *, prune: bool = False, config_text: str | None = None) -> Plan:
    """Compare the file with the stored configuration: located errors, readable changes, service steps."""
    state = State()
    state.read_file(configuration)
    plan = Plan(document_hash=digest(dumps(configuration)), prune=prune,
                config_hash=digest(config_text) if config_text is not None else "")
    check_references(configuration, state, plan.errors)
    if plan.errors:
        return plan
    _plan_regions(configuration, state, plan)
    _plan_users(configuration, state, plan)
    _plan_policies(configuration, state, plan)
    _plan_groups(configuration, state, plan)
    plan_grants(configuration, state, plan)
    _plan_identity_providers(configuration, state, plan)
    return plan


def _plan_identity_providers(configuration, state, plan) -> None:
    """Providers and their rules (federation.iac): one step per provider, after the groups exist; the
    same services as the console, so the same no-escalation rule, refused at the rule's group."""
    from federation import iac

    filed_groups = {g.name for g in configuration.groups}
    duplicates(plan.errors, configuration.identity_providers, lambda p: p.name, "$.identity_providers",
                "The identity provider")
    for p_index, entry in enumerate(configuration.identity_providers):
        for r_index, rule in enumerate(entry.rules):
            for g_index, name in enumerate(rule.groups):
                if name not in filed_groups and name not in state.groups:
                    plan.errors.append((f"$.identity_providers[{p_index}].rules[{r_index}].groups[{g_index}]",
                                        Message(gettext_noop("There is no user group named %(name)s."),
                                                name=repr(name))))
    if plan.errors:
        return
    for change in iac.plan_entries(configuration.identity_providers, prune=plan.prune):
        plan.changes.append(Change("Identity providers", change.kind, change.name, change.path,
                                   iac.describe(change.before), iac.describe(change.after)))
        plan.steps.append(Step("identity-providers", change.path,
                               lambda actor, change=change: iac.apply_change(change, configuration.identity_providers,
                                                                             actor=actor)))


def _plan_regions(configuration, state, plan):
    """Regions and their projects: created or renamed/redescribed; never removed (prune only warns)."""
    for r_index, region in enumerate(configuration.regions):
        path = f"$.regions[{r_index}]"
        stored = state.regions.get(region.code)
        _plan_region(region, stored, path, plan)
        for p_index, project in enumerate(region.projects):
            _plan_project(region, project, created_with_region=stored is None and project.name == region.code,
                          where=f"{path}.projects[{p_index}]", state=state, plan=plan)
    if plan.prune:
        listed = {p.name for r in configuration.regions for p in r.projects}
        for name in sorted(set(state.projects) - listed):
            plan.warnings.append(("$.regions", Message(gettext_noop("The project %(project)s is not in the file and "
                                                                    "stays: regions and projects cannot be removed."),
                                                       project=name)))


def _plan_region(region, stored, path: str, plan) -> None:
    """A region the console lacks is created; one whose name differs is renamed."""
    if stored is None:
        plan.changes.append(Change("Regions and projects", "create", f"region {region.code}", path,
                                   after=region.name))
        plan.steps.append(Step("regions", path, lambda actor, r=region: services.region_create(
            actor=actor, code=r.code, name=r.name)))
    elif stored.name != region.name:
        plan.changes.append(Change("Regions and projects", "change", f"region {region.code}", f"{path}.name",
                                   before=stored.name, after=region.name))
        plan.steps.append(Step("regions", f"{path}.name", lambda actor, r=region: services.region_update(
            actor=actor, region=Region.objects.get(code=r.code), name=r.name)))


def _plan_project(region, project, *, created_with_region: bool, where: str, state, plan) -> None:
    """A project is created, or its description changed. A new region's default project comes with the
    region (described "default project"), so the file's description of it is a change shown as a create."""
    current = state.projects.get(project.name)
    before = current.description if current else ("default project" if created_with_region else None)
    if before is None:
        plan.changes.append(Change("Regions and projects", "create", f"project {project.name}", where,
                                   after=project.description or "(no description)"))
        plan.steps.append(Step("projects", where, lambda actor, r=region, p=project: services.project_create(
            actor=actor, region=Region.objects.get(code=r.code), name=p.name, description=p.description)))
    elif before != project.description:
        kind = "create" if created_with_region else "change"
        plan.changes.append(Change("Regions and projects", kind, f"project {project.name}",
                                   f"{where}.description", before=before, after=project.description,
                                   note="the region's default project" if created_with_region else ""))
        plan.steps.append(Step("projects", f"{where}.description",
                               lambda actor, p=project: services.project_update(
                                   actor=actor, project=Project.objects.get(name=p.name), name=p.name,
                                   description=p.description)))


def _plan_users(configuration, state, plan):
    listed = set()
    for index, entry in enumerate(configuration.users):
        path = f"$.users[{index}]"
        listed.add(entry.username)
        stored = state.users.get(entry.username)
        wanted = {name: getattr(entry, name) for name in USER_FIELDS}
        if stored is None:
            plan.changes.append(Change("Users", "create", f"user {entry.username}", path,
                                       after=_fields_text(wanted),
                                       note="without a password until an administrator sets one"))
            plan.steps.append(Step("users", path, lambda actor, u=entry: services.user_create(
                actor=actor, username=u.username, without_password=True,
                **{name: getattr(u, name) for name in USER_FIELDS})))
            plan.affected_usernames.add(entry.username)
            continue
        changed = {name: value for name, value in wanted.items() if stored[name] != value}
        if changed:
            plan.changes.append(Change("Users", "change", f"user {entry.username}", path,
                                       before=_fields_text({k: stored[k] for k in changed}),
                                       after=_fields_text(changed)))
            plan.steps.append(Step("users", path, lambda actor, u=entry.username, c=changed: services.user_update(
                actor=actor, user=User.objects.get(username=u), **c)))
            if "is_active" in changed:
                plan.affected_usernames.add(entry.username)
                plan.whole_users.add(entry.username)
    if plan.prune:
        for username in sorted(set(state.users) - listed):
            plan.changes.append(Change("Users", "remove", f"user {username}",
                                       before=_fields_text({k: state.users[username][k] for k in USER_FIELDS})))
            plan.steps.append(Step("user-delete", "$.users", lambda actor, u=username: services.user_delete(
                actor=actor, user=User.objects.get(username=u))))
            plan.affected_usernames.add(username)
            plan.whole_users.add(username)


def _fields_text(fields: dict) -> str:
    return ", ".join(f"{name}: {json.dumps(value)}" for name, value in fields.items())


def _plan_policies(configuration, state, plan):
    listed = set()
    for index, entry in enumerate(configuration.policies):
        path = f"$.policies[{index}]"
        listed.add(entry.name)
        stored = state.policies.get(entry.name)
        after_text = json.dumps(entry.document, sort_keys=True, indent=2)
        if stored is None:
            plan.changes.append(Change("Custom policies", "create", f"policy {entry.name}", path,
                                       after=f"{entry.description}\n{after_text}".strip()))
            plan.steps.append(Step("policy-create", path, lambda actor, p=entry: services.policy_create(
                actor=actor, name=p.name, description=p.description, document=p.document)))
            continue
        same_document = _canonical(stored.document) == _canonical(entry.document)
        if same_document and stored.description == entry.description:
            continue
        before, after = [], []
        if stored.description != entry.description:
            before.append(f"description: {json.dumps(stored.description)}")
            after.append(f"description: {json.dumps(entry.description)}")
        if not same_document:
            before.append(json.dumps(stored.document, sort_keys=True, indent=2))
            after.append(after_text)
            for group, scope in state.grants_by_policy.get(entry.name, ()):
                plan.affected_usernames |= state.members.get(group, set())
                touch(plan, state, configuration, entry.name, scope)
        plan.changes.append(Change("Custom policies", "change", f"policy {entry.name}", path,
                                   before="\n".join(before), after="\n".join(after)))
        plan.steps.append(Step("policy-update", path, lambda actor, p=entry, revision=stored.revision:
                               services.policy_update(actor=actor, policy=Policy.objects.get(name=p.name),
                                                      name=p.name, description=p.description, document=p.document,
                                                      expected_revision=revision)))
    if plan.prune:
        for name in sorted(n for n, p in state.policies.items() if not p.is_system and n not in listed):
            plan.changes.append(Change("Custom policies", "remove", f"policy {name}",
                                       before=state.policies[name].description))
            plan.steps.append(Step("policy-delete", "$.policies", lambda actor, n=name: services.policy_delete(
                actor=actor, policy=Policy.objects.get(name=n))))


def _canonical(document) -> str:
    return json.dumps(document, sort_keys=True)


def _plan_groups(configuration, state, plan):
    listed = set()
    for index, entry in enumerate(configuration.groups):
        path = f"$.groups[{index}]"
        listed.add(entry.name)
        stored = state.groups.get(entry.name)
        if stored is None:
            plan.changes.append(Change("User groups", "create", f"group {entry.name}", path,
                                       after=entry.description or "(no description)"))
            plan.steps.append(Step("groups", path, lambda actor, g=entry: services.group_create(
                actor=actor, name=g.name, description=g.description)))
        elif stored.description != entry.description:
            plan.changes.append(Change("User groups", "change", f"group {entry.name}", f"{path}.description",
                                       before=stored.description, after=entry.description))
            plan.steps.append(Step("groups", f"{path}.description", lambda actor, g=entry: services.group_update(
                actor=actor, group=UserGroup.objects.get(name=g.name), name=g.name, description=g.description)))
        current = state.members.get(entry.name, set())
        for m_index, member in enumerate(entry.members):
            if member in current:
                continue
            where = f"{path}.members[{m_index}]"
            plan.changes.append(Change("Members", "create", f"{member} in {entry.name}", where))
            plan.steps.append(Step("join", where, lambda actor, g=entry.name, u=member: services.group_add_member(
                actor=actor, group=UserGroup.objects.get(name=g), user=User.objects.get(username=u))))
            plan.affected_usernames.add(member)
            touch_group(plan, state, configuration, entry.name)
        if plan.prune:
            for member in sorted(current.difference(entry.members)):
                plan.changes.append(Change("Members", "remove", f"{member} in {entry.name}", f"{path}.members"))
                plan.steps.append(Step("leave", f"{path}.members", lambda actor, g=entry.name, u=member:
                                       services.group_remove_member(actor=actor, group=UserGroup.objects.get(name=g),
                                                                    user=User.objects.get(username=u))))
                plan.affected_usernames.add(member)
                touch_group(plan, state, configuration, entry.name)
    if plan.prune:
        for name in sorted(set(state.groups) - listed):
            group = state.groups[name]
            if group.is_admin_group:
                plan.warnings.append(("$.groups", Message(gettext_noop("The built-in %(group)s group is not in the "
                                                                   "file and stays: it cannot be removed."),
                                                      group=ADMIN_GROUP_NAME)))
                continue
            grants = sorted(p for p, _ in state.grants_by_group.get(name, ()))
            members = sorted(state.members.get(name, ()))
            plan.changes.append(Change("User groups", "remove", f"group {name}",
                                       before=f"members: {', '.join(members) or 'none'}; "
                                              f"grants: {', '.join(grants) or 'none'}",
                                       note="its memberships and grants go with it"))
            plan.steps.append(Step("group-delete", "$.groups", lambda actor, n=name: services.group_delete(
                actor=actor, group=UserGroup.objects.get(name=n))))
            plan.affected_usernames |= set(members)
            touch_group(plan, state, configuration, name)
