"""Converting between the visual editor's fields and a document: exact round trips, or a reason."""

import pytest
from django.http import QueryDict

from accounts.iam.visual_editor import (
    NotRepresentable,
    VisualStatement,
    apply_operation,
    document_from_statements,
    statements_from_document,
    statements_from_post,
)

ROUND_TRIPS = [
    {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:*:*"]}]},
    {"Version": "1.1", "Statement": [
        {"Effect": "Allow", "Action": ["ims:images:list", "ims:images:get"]},
        {"Effect": "Deny", "Action": ["ims:images:delete"],
         "Condition": {"StringEquals": {"ims:ResourceTag/env": ["prod", "staging"]}}}]},
    {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["iam:users:*", "iam:groups:listGroups"],
                                      "Condition": {"Bool": {"g:MFAPresent": [True]},
                                                    "NumberLessThan": {"g:MFAAge": [3600]},
                                                    "IpAddress": {"g:SourceIp": ["10.0.0.0/8", "192.168.1.1"]}}}]},
    {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:get"], "Condition": {
        "ForAnyValue:StringEqualsIgnoreCase": {"ims:OsType": ["linux"]},
        "Null": {"ims:ResourceTag/owner": [False]},
        "DateLessThan": {"g:CurrentTime": ["2030-01-01T00:00:00+00:00"]}}}]},
]


@pytest.mark.parametrize("document", ROUND_TRIPS)
def test_documents_the_visual_editor_can_show_survive_the_round_trip(document):
    assert document_from_statements(statements_from_document(document)) == document


@pytest.mark.parametrize(("document", "reason"), [
    ({"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:*:get*"]}]}, "'ims:*:get*'"),
    ({"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ecs:*:*"]}]}, "the ecs service"),
    ({"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:get", "iam:users:getUser"]}]},
     "mixes services"),
    ({"Version": "1.0", "Statement": [{"Effect": "Allow", "Action": ["ims:*:*"]}]}, 'Version is "1.0"'),
    ({"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:*:*"], "Resource": ["*"]}]}, "Resource"),
    ({"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:*:*"],
                                       "Condition": {"StringEquals": {"g:UserName": ["a,b"]}}}]}, "comma"),
    ({"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:*:*"],
                                       "Condition": {"StringEqual": {"g:UserName": ["a"]}}}]}, "unknown operator"),
    ({"Version": "1.1", "Statement": []}, "non-empty list"),
    (["not", "an", "object"], "not a JSON object"),
])
def test_what_the_visual_editor_cannot_show_is_named(document, reason):
    with pytest.raises(NotRepresentable, match=None) as raised:
        statements_from_document(document)
    assert reason in str(raised.value)


def test_posted_fields_keep_only_actions_of_the_chosen_service():
    data = QueryDict(mutable=True)
    data.update({"visual-count": "1", "s0-effect": "Deny", "s0-service": "iam", "s0-conditions": "0"})
    data.setlist("s0-actions", ["ims:images:get", "iam:users:getUser", "IAM:USERS:LISTUSERS"])
    [statement] = statements_from_post(data)
    assert (statement.effect, statement.service, statement.actions) == (
        "Deny", "iam", ["iam:users:getUser", "iam:users:listUsers"])


def test_rows_are_added_and_removed():
    statements = [VisualStatement(), VisualStatement(effect="Deny")]
    apply_operation(statements, "add-condition:1")
    assert len(statements[1].conditions) == 1
    apply_operation(statements, "remove-condition:1:0")
    assert statements[1].conditions == []
    apply_operation(statements, "remove-statement:0")
    assert [s.effect for s in statements] == ["Deny"]
    apply_operation(statements, "remove-statement:0")  # the last statement stays
    apply_operation(statements, "remove-statement:7")
    assert len(statements) == 1
