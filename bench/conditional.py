"""The conditioned crowded user of bench/decisions.py, and the same 200 statements in Cedar.

10 groups × 20 grants, each grant a policy of its own with one statement (200 statements, no two
texts alike, so no condition is shared); 60% of them conditioned on an image tag, the OS, the
platform, the time, the source address or MFA, Allows and Denies mixed, half the grants scoped to
one to three projects. The pages ask three image actions of each of 2,000 images (tags, OS and
platform varied), 50 images a page, a fresh request (time, address, MFA) each page.

Cedar gets the same statements as 200 policies (`permit` / `forbid` with `when` conditions, the
grant's scope as `resource in Project::…`), the user, groups, projects and images as entities;
policy set and entities are parsed once (`cedarpy.PolicySet`, `cedarpy.Entities`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

ACTIONS = ("ims:images:get", "ims:images:update", "ims:images:delete")
IMAGES = 2_000
ROWS = 50
GROUPS = 10
GRANTS_PER_GROUP = 20
ENVS = ("prod", "dev", "test", "staging", "frozen-7")
TEAMS = tuple(f"team-{n}" for n in range(10))
OS_PLATFORMS = (("Linux", "Ubuntu"), ("Linux", "CentOS"), ("Linux", "Debian"), ("Linux", "openEuler"),
                ("Windows", "Windows"), ("Other", "Other"))
# A fresh request per page: these keys cycle (the time is the request's own).
REQUEST_KEYS = ({"g:SourceIp": "10.1.2.3", "g:MFAPresent": True, "g:MFAAge": 30},
                {"g:SourceIp": "192.168.7.9", "g:MFAPresent": False},
                {"g:SourceIp": "8.8.8.8", "g:MFAPresent": True, "g:MFAAge": 900})
PROJECTS = ("cn-north-4_cond-a", "cn-north-4_cond-b", "eu-west-101_cond-c", "eu-west-101_cond-d")
ACTION_SETS = (["ims:images:update", "ims:images:delete"], ["ims:images:*"], ["ims:images:get"],
               ["ims:images:delete", "ims:images:share"], ["ims:images:get", "ims:images:update"])


def condition(i: int) -> dict | None:
    """Statement i's condition: 60% of the statements have one, on one of six kinds of key."""
    if i % 10 >= 6:
        return None
    kind = (i // 10 + i) % 6
    if i % 3 == 0:
        return _deny_condition(i, kind)
    if kind == 0:
        return {"StringEquals": {"ims:ResourceTag/env": ["prod", f"frozen-{i % 9}"]}}
    if kind == 1:
        return {"StringEquals": {"ims:OsType": ["Windows" if i % 3 == 1 else "Linux"]},
                "StringNotEquals": {"ims:ResourceTag/team": [f"team-{i % 10}"]}}
    if kind == 2:
        return {"StringEquals": {"ims:Platform": ["Ubuntu", "Debian"] if i % 2 else ["CentOS", "Windows"]}}
    if kind == 3:  # a grant that has not started yet, or has ended
        edge = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(days=i)
        return ({"DateGreaterThan": {"g:CurrentTime": (edge + timedelta(days=8000)).isoformat()}} if i % 2
                else {"DateLessThan": {"g:CurrentTime": edge.isoformat()}})
    if kind == 4:
        return {"IpAddress": {"g:SourceIp": ["10.0.0.0/8", f"172.16.{i}.0/24"]}}
    return {"Bool": {"g:MFAPresent": [True]}}


def _deny_condition(i: int, kind: int) -> dict:
    """A Deny's condition: narrower than an Allow's (a frozen image, an odd platform, no MFA)."""
    if kind == 0:
        return {"StringEquals": {"ims:ResourceTag/env": [f"frozen-{i % 9}"]}}
    if kind == 1:
        return {"StringEquals": {"ims:OsType": ["Other"]}, "StringNotEquals": {"ims:ResourceTag/team": ["team-0"]}}
    if kind == 2:
        return {"StringEquals": {"ims:Platform": ["openEuler"]}}
    if kind == 3:
        return {"DateLessThan": {"g:CurrentTime": (datetime(2020, 1, 1, tzinfo=UTC) + timedelta(days=i)).isoformat()}}
    if kind == 4:
        return {"IpAddress": {"g:SourceIp": [f"172.16.{i}.0/24"]}}
    return {"Bool": {"g:MFAPresent": [False]}}


def statement(i: int) -> dict:
    """Statement i: conditioned ones Deny deleting one time in three; unconditioned ones allow
    listing, or deny or allow what the pages never ask (so the asked cells stay conditional)."""
    block = condition(i)
    if block is None:
        if i % 10 == 6:
            return {"Effect": "Allow", "Action": ["ims:images:list", "ims:quotas:get"]}
        if i % 10 == 7:
            return {"Effect": "Deny", "Action": ["ims:images:share", f"ecs:servers{i}:delete"]}
        return {"Effect": "Allow", "Action": [f"ecs:servers{i}:list", "ims:images:list"]}
    if i % 3 == 0:  # a conditional Deny guards deleting (and sharing) only
        return {"Effect": "Deny", "Action": ["ims:images:delete", "ims:images:share"][:1 + i % 2], "Condition": block}
    return {"Effect": "Allow", "Action": ACTION_SETS[i % len(ACTION_SETS)], "Condition": block}


def document(i: int) -> dict:
    return {"Version": "1.1", "Statement": [statement(i)]}


def scope(group: int, grant: int) -> tuple[str, ...]:
    """The projects a grant lists; () means All resources (half the grants)."""
    if (group + grant) % 2 == 0:
        return ()
    first = (group + grant) % len(PROJECTS)
    return tuple(PROJECTS[(first + n) % len(PROJECTS)] for n in range(1 + grant % 3))


def make_user():
    """The conditioned crowded user, its projects and its 2,000 images, in the database."""
    from accounts.models import Grant, Membership, Policy, Project, Region, User, UserGroup
    from images.models import Image, ImageTag

    projects = {}
    for name in PROJECTS:
        region = Region.objects.get_or_create(code=name.split("_")[0], defaults={"name": name.split("_")[0]})[0]
        projects[name] = Project.objects.create(name=name, region=region)
    policies = Policy.objects.bulk_create(Policy(name=f"conditional-{i}", document=document(i))
                                          for i in range(GROUPS * GRANTS_PER_GROUP))
    user = User.objects.create_user("decisions-conditional", password="x")
    for g in range(GROUPS):
        group = UserGroup.objects.create(name=f"conditional-group-{g}")
        Membership.objects.create(user=user, group=group)
        for j in range(GRANTS_PER_GROUP):
            listed = scope(g, j)
            grant = Grant.objects.create(group=group, policy=policies[g * GRANTS_PER_GROUP + j],
                                         all_resources=not listed)
            if listed:
                grant.projects.set([projects[name] for name in listed])
    names = list(PROJECTS)
    images = Image.objects.bulk_create(
        Image(name=f"conditional-{n:04d}", project=projects[names[n % len(names)]], status="active",
              os_type=OS_PLATFORMS[n % len(OS_PLATFORMS)][0], platform=OS_PLATFORMS[n % len(OS_PLATFORMS)][1])
        for n in range(IMAGES))
    tags = []
    for n, image in enumerate(images):
        if n % 7:
            tags.append(ImageTag(image=image, key="env", value=ENVS[n % len(ENVS)]))
        if n % 5:
            tags.append(ImageTag(image=image, key="team", value=TEAMS[n % len(TEAMS)]))
    ImageTag.objects.bulk_create(tags)
    return user


def pages():
    """The image pages, each a list of (action, project, image): 40 pages of 50 images × 3 actions."""
    from images.models import Image

    images = list(Image.objects.filter(name__startswith="conditional-").select_related("project__region")
                  .prefetch_related("tags").order_by("name"))
    assert len(images) == IMAGES
    return [[(action, image.project, image) for image in images[start:start + ROWS] for action in ACTIONS]
            for start in range(0, IMAGES, ROWS)]


# --- the same thing in Cedar ---------------------------------------------------------------

def _text_test(attribute: str, has: str | None, operator: str, listed) -> str:
    values = listed if isinstance(listed, list) else [listed]
    test = f"{json.dumps(values)}.contains({attribute})"
    present = f"{has} && " if has else ""
    if operator == "StringEquals":
        return f"({present}{test})"
    assert operator == "StringNotEquals", operator
    return f"!({present}{test})"


def _cedar_key_test(operator: str, key: str, listed) -> str:
    """One condition entry as a Cedar expression (only the forms `condition` writes)."""
    if key.startswith("ims:ResourceTag/"):
        tag = json.dumps(key.split("/", 1)[1])
        return _text_test(f"resource.tags[{tag}]", f"resource.tags has {tag}", operator, listed)
    if key in ("ims:OsType", "ims:Platform"):
        return _text_test({"ims:OsType": "resource.os", "ims:Platform": "resource.platform"}[key], None, operator,
                          listed)
    if key == "g:CurrentTime":
        instant = datetime.fromisoformat(listed).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f'context.now {"<" if operator == "DateLessThan" else ">"} datetime("{instant}")'
    if key == "g:SourceIp":
        return "(" + " || ".join(f'context.ip.isInRange(ip("{cidr}"))' for cidr in listed) + ")"
    assert key == "g:MFAPresent" and operator == "Bool", (operator, key)
    return " || ".join(f"context.mfa == {'true' if value else 'false'}" for value in listed)


def cedar_policy(group: int, grant: int, i: int) -> str:
    from accounts.policy import expand_pattern

    st = statement(i)
    actions = sorted({name for pattern in st["Action"] for name in (expand_pattern(pattern) or {pattern})})
    tests = ["(" + " || ".join(f'resource in Project::"{name}"' for name in scope(group, grant)) + ")"] \
        if scope(group, grant) else []
    tests += [_cedar_key_test(operator, key, listed) for operator, entries in st.get("Condition", {}).items()
              for key, listed in entries.items()]
    head = (f'{"forbid" if st["Effect"] == "Deny" else "permit"} (principal in Group::"g{group}", '
            f"action in [{', '.join(f'Action::{json.dumps(name)}' for name in actions)}], resource)")
    return f'@id("g{group}-{grant}")\n{head}' + (f"\nwhen {{ {' && '.join(tests)} }};" if tests else ";")


def cedar_entities(images) -> list[dict]:
    groups = [{"type": "Group", "id": f"g{g}"} for g in range(GROUPS)]
    entities = [{"uid": {"type": "User", "id": "crowded"}, "attrs": {}, "parents": groups}]
    entities += [{"uid": uid, "attrs": {}, "parents": []} for uid in groups]
    entities += [{"uid": {"type": "Project", "id": name}, "attrs": {}, "parents": []} for name in PROJECTS]
    entities += [{"uid": {"type": "Image", "id": str(image.pk)},
                  "attrs": {"tags": {tag.key: tag.value for tag in image.tags.all()}, "os": image.os_type,
                            "platform": image.platform, "image_type": image.image_type},
                  "parents": [{"type": "Project", "id": image.project.name}]} for image in images]
    return entities


def cedar_context(request_keys: dict, now: datetime) -> dict:
    context = {"now": {"__extn": {"fn": "datetime", "arg": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}},
               "mfa": request_keys.get("g:MFAPresent", False)}
    if "g:SourceIp" in request_keys:
        context["ip"] = {"__extn": {"fn": "ip", "arg": request_keys["g:SourceIp"]}}
    return context


def cedar_authorizer(pages_):
    """A function deciding (action, image, request keys, now) with Cedar: parsed once."""
    import cedarpy

    text = "\n".join(cedar_policy(g, j, g * GRANTS_PER_GROUP + j)
                     for g in range(GROUPS) for j in range(GRANTS_PER_GROUP))
    policies = cedarpy.PolicySet.from_str(text)
    images = [image for page in pages_ for _, _, image in page[::len(ACTIONS)]]
    entities = cedarpy.Entities.from_json_str(json.dumps(cedar_entities(images)))

    def decide(action, image, context: dict) -> bool:
        """`context`: cedar_context(), built once per page as ours is."""
        result = cedarpy.is_authorized({"principal": 'User::"crowded"', "action": f"Action::{json.dumps(action)}",
                                        "resource": f'Image::"{image.pk}"', "context": context}, policies, entities)
        assert not result.diagnostics.errors, result.diagnostics.errors
        return result.allowed

    return decide, text.count("@id(")
