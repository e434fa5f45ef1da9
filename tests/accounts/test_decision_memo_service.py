"""The authorization service routes an image whose keys are not exact texts around the deciders' memos.

Beside tests/policy/test_decision_table_rows.py (the pure tables): this one asks the service itself.
"""

import enum
from datetime import UTC, datetime
from types import SimpleNamespace

from accounts.authz import Authorization, CompiledGrants, GrantRule
from accounts.policy import compile_document
from tests.accounts.test_decision_table import plain_decide, project_object
from tests.policy.test_decision_table_rows import Spelled


class Os(str, enum.Enum):  # noqa: UP042 - not StrEnum: its str() is "Os.LINUX", not the "Linux" it equals
    LINUX = "Linux"


def test_a_value_equal_to_a_text_without_being_one_is_decided_in_full_by_the_service():
    """The service routes an image whose keys hold anything but None or exact texts around the
    deciders' memos, so an enum member equal to "Linux" is decided as what it reads as."""
    document = {"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["ims:images:get"], "Condition": {"StringEquals": {"ims:OsType": ["Linux"]}}},
        {"Effect": "Allow", "Action": ["ims:images:get"],
         "Condition": {"StringEquals": {"ims:ResourceTag/env": ["prod"]}}},
    ]}
    rule = GrantRule(1, "group", 1, "policy", "custom", True, frozenset(), document, compile_document(document))
    grants = CompiledGrants(user_id=7, username="alice", is_active=True, is_admin=False, rules=[rule], stamp="t")
    project = project_object("cn-north-4")

    def image(pk, os_type, env):
        tags = [SimpleNamespace(key="env", value=env)]
        return SimpleNamespace(pk=pk, project=project, image_type="private", os_type=os_type, platform="Ubuntu",
                               architecture="x86", tags=SimpleNamespace(all=lambda: list(tags)))

    now = datetime(2025, 6, 1, tzinfo=UTC)
    authorization = Authorization(grants, now=now)
    asked = [image(1, "Linux", "dev"), image(2, Os.LINUX, "dev"), image(3, "Windows", "prod"),
             image(4, "Windows", Spelled("prod")), image(5, "Windows", None), image(6, None, 1)]
    for _ in range(2):
        for each in asked:
            expected = plain_decide(grants, "ims:images:get", project, each, None, request_keys={}, now=now)
            assert authorization.decide("ims:images:get", project, each) == expected, each
    assert authorization.decide("ims:images:get", project, asked[0]).allowed
    assert not authorization.decide("ims:images:get", project, asked[3]).allowed  # reads "spelled-prod"
