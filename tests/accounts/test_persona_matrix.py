"""Seeded personas × IMS actions × projects, every answer written out by hand from the SPEC.

Y = allow, D = explicit deny, . = implicit deny.
"""

import pytest

from accounts import authz
from accounts.models import User

ACTIONS = [
    "ims:images:list", "ims:images:get", "ims:images:create", "ims:serverImages:create",
    "ims:dataImages:create", "ims:wholeImages:create", "ims:images:update", "ims:images:delete",
    "ims:images:upload", "ims:images:export", "ims:images:copy", "ims:images:share", "ims:quotas:get",
]

# persona      project          list get create server data whole update delete upload export copy share quota
EXPECTED = """
admin          cn-north-4       Y    Y   Y      Y      Y    Y     Y      Y      Y      Y      Y    Y     Y
admin          cn-north-4_dev   Y    Y   Y      Y      Y    Y     Y      Y      Y      Y      Y    Y     Y
admin          ap-southeast-1   Y    Y   Y      Y      Y    Y     Y      Y      Y      Y      Y    Y     Y
admin          eu-west-101      Y    Y   Y      Y      Y    Y     Y      Y      Y      Y      Y    Y     Y
iam-admin      cn-north-4       .    .   .      .      .    .     .      .      .      .      .    .     .
iam-admin      cn-north-4_dev   .    .   .      .      .    .     .      .      .      .      .    .     .
iam-admin      ap-southeast-1   .    .   .      .      .    .     .      .      .      .      .    .     .
iam-admin      eu-west-101      .    .   .      .      .    .     .      .      .      .      .    .     .
ims-admin      cn-north-4       Y    Y   Y      Y      Y    Y     Y      Y      Y      Y      Y    Y     Y
ims-admin      cn-north-4_dev   Y    Y   Y      Y      Y    Y     Y      Y      Y      Y      Y    Y     Y
ims-admin      ap-southeast-1   Y    Y   Y      Y      Y    Y     Y      Y      Y      Y      Y    Y     Y
ims-admin      eu-west-101      Y    Y   Y      Y      Y    Y     Y      Y      Y      Y      Y    Y     Y
viewer         cn-north-4       Y    Y   .      .      .    .     .      .      .      .      .    .     Y
viewer         cn-north-4_dev   Y    Y   .      .      .    .     .      .      .      .      .    .     Y
viewer         ap-southeast-1   Y    Y   .      .      .    .     .      .      .      .      .    .     Y
viewer         eu-west-101      Y    Y   .      .      .    .     .      .      .      .      .    .     Y
developer      cn-north-4       .    .   .      .      .    .     .      .      .      .      .    .     .
developer      cn-north-4_dev   Y    Y   Y      Y      Y    Y     Y      D      Y      Y      Y    Y     Y
developer      ap-southeast-1   .    .   .      .      .    .     .      .      .      .      .    .     .
developer      eu-west-101      .    .   .      .      .    .     .      .      .      .      .    .     .
north-ops      cn-north-4       Y    Y   Y      Y      Y    Y     Y      Y      Y      Y      Y    Y     Y
north-ops      cn-north-4_dev   .    .   .      .      .    .     .      .      .      .      .    .     .
north-ops      ap-southeast-1   .    .   .      .      .    .     .      .      .      .      .    .     .
north-ops      eu-west-101      .    .   .      .      .    .     .      .      .      .      .    .     .
newcomer       cn-north-4       .    .   .      .      .    .     .      .      .      .      .    .     .
newcomer       cn-north-4_dev   .    .   .      .      .    .     .      .      .      .      .    .     .
newcomer       ap-southeast-1   .    .   .      .      .    .     .      .      .      .      .    .     .
newcomer       eu-west-101      .    .   .      .      .    .     .      .      .      .      .    .     .
"""

OUTCOME = {"Y": "allow", "D": "explicit_deny", ".": "implicit_deny"}


def _cases():
    for line in EXPECTED.strip().splitlines():
        persona, project, *marks = line.split()
        assert len(marks) == len(ACTIONS), line
        for action, mark in zip(ACTIONS, marks, strict=True):
            yield pytest.param(persona, project, action, OUTCOME[mark], id=f"{persona}-{project}-{action}")


@pytest.mark.parametrize(("persona", "project", "action", "expected"), list(_cases()))
def test_persona_decision(demo, persona, project, action, expected):
    user = User.objects.get(username=persona)
    assert authz.decide(user, action, project=project).outcome == expected


# IAM is global: decided on All-resources grants only.
IAM_EXPECTED = {
    "admin": "allow", "iam-admin": "allow", "ims-admin": "implicit_deny", "viewer": "implicit_deny",
    "developer": "implicit_deny", "north-ops": "implicit_deny", "newcomer": "implicit_deny",
}


@pytest.mark.parametrize("persona", list(IAM_EXPECTED))
@pytest.mark.parametrize("action", ["iam:users:createUser", "iam:permissions:grantPermission", "iam:audit:listEvents"])
def test_iam_actions_are_global(demo, persona, action):
    user = User.objects.get(username=persona)
    assert authz.decide(user, action).outcome == IAM_EXPECTED[persona]
    assert authz.decide(user, action, project="cn-north-4").outcome == IAM_EXPECTED[persona]


def test_developer_deletion_is_denied_by_the_custom_policy(demo):
    explanation = authz.decide(User.objects.get(username="developer"), "ims:images:delete", project="cn-north-4_dev")
    assert [(r.group_name, r.policy_name, r.statement_index, r.effect) for r in explanation.reasons] == [
        ("developers", "DenyImageDeletion", 0, "Deny")
    ]
    assert "DenyImageDeletion" in explanation.summary


def test_admin_decisions_say_admin_group(demo):
    explanation = authz.decide(User.objects.get(username="admin"), "ims:images:delete", project="eu-west-101")
    assert explanation.allowed
    assert "admin group" in explanation.summary
