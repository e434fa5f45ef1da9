"""What the policy editor tells a user about a document, and where (SPEC 5.1)."""

import json
import textwrap

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.policy import expand_pattern, validate_document, validate_text
from accounts.policy.catalogue import IMS_ACTIONS
from tests.properties import examples


def policy(*statements, version="1.1"):
    return {"Version": version, "Statement": list(statements)}


def allow(*actions, **extra):
    return {"Effect": "Allow", "Action": list(actions), **extra}


def only(result, tier):
    """The single finding of `tier`, so each test states exactly what the user sees."""
    found = [finding for finding in result.findings if finding.tier == tier]
    assert len(found) == 1, result.findings
    return found[0]


def where(finding):
    return finding.path, finding.line, finding.column


def test_a_clean_policy_has_no_findings():
    result = validate_text(
        textwrap.dedent(
            """\
            {"Version": "1.1",
             "Statement": [
               {"Effect": "Allow", "Action": ["ims:*:get*", "ims:images:list"]},
               {"Effect": "Deny",  "Action": ["ims:images:get"],
                "Condition": {"StringEquals": {"ims:ResourceTag/env": ["prod"]}}}]}
            """
        )
    )
    assert result.ok
    assert result.findings == ()
    assert result.document["Statement"][1]["Effect"] == "Deny"


def test_malformed_json_is_located_at_the_problem():
    result = validate_text('{\n  "Version": "1.1",\n  "Statement": [\n    {"Effect": "Allow",}\n  ]\n}')
    error = only(result, "error")
    assert result.document is None and not result.ok
    assert (error.path, error.line, error.column) == ("", 4, 24)
    assert "property name" in error.message


def test_unterminated_string_is_located_where_it_starts():
    error = only(validate_text('{\n  "Version": "1.1'), "error")
    assert (error.line, error.column) == (2, 14)
    assert error.message == "Not valid JSON: Unterminated string"


def test_a_line_break_inside_a_string_is_located_at_the_line_break():
    error = only(validate_text('{\n  "Version": "1.1\n}'), "error")
    assert (error.line, error.column) == (2, 18)
    assert error.message == "Not valid JSON: Invalid control character"


def test_empty_text_is_malformed_json():
    error = only(validate_text(""), "error")
    assert (error.line, error.column) == (1, 1)


def test_unknown_top_level_key_points_at_the_key():
    text = '{\n  "Version": "1.1",\n  "Id": "x",\n  "Statement": [{"Effect": "Allow", "Action": ["ims:images:get"]}]\n}'
    error = only(validate_text(text), "error")
    assert where(error) == ("Id", 3, 3)
    assert 'Unknown key "Id"' in error.message


def test_unknown_statement_key_in_wrong_case_says_keys_are_case_sensitive():
    text = (
        '{"Version": "1.1",\n "Statement": [\n  {"effect": "Allow", "Effect": "Allow", "Action": ["ims:images:get"]}]}'
    )
    error = only(validate_text(text), "error")
    assert where(error) == ("Statement[0].effect", 3, 4)
    assert 'write "Effect"' in error.message


def test_missing_version_and_statement_are_errors_at_the_root():
    result = validate_text("{}")
    assert [where(e) for e in result.errors] == [("", 1, 1), ("", 1, 1)]
    assert {'The policy needs "Version": "1.1"', 'The policy needs a "Statement" list'} == {
        e.message for e in result.errors
    }


def test_version_must_be_1_1_and_1_0_only_in_system_roles():
    text = '{"Version": "1.0",\n "Statement": [{"Effect": "Allow", "Action": ["ims:images:get"]}]}'
    error = only(validate_text(text), "error")
    assert where(error) == ("Version", 1, 13)
    assert error.message == 'Version must be "1.1", not "1.0"'
    assert validate_text(text, system=True).ok


def test_wrong_effect_case_is_an_error_on_the_effect_value():
    text = '{\n  "Version": "1.1",\n  "Statement": [\n    {"Effect": "allow", "Action": ["ims:images:get"]}\n  ]\n}'
    error = only(validate_text(text), "error")
    assert where(error) == ("Statement[0].Effect", 4, 16)
    assert error.message == 'Effect must be "Allow" or "Deny" (exact case), not "allow"'


def test_statement_must_be_a_non_empty_list():
    assert only(validate_text('{"Version": "1.1", "Statement": []}'), "error").path == "Statement"
    error = only(validate_document({"Version": "1.1", "Statement": allow("ims:images:get")}), "error")
    assert "wrap the statement in [ ]" in error.message


def test_action_as_a_single_string_must_be_a_list():
    text = '{"Version": "1.1", "Statement": [\n  {"Effect": "Allow",\n   "Action": "ims:images:get"}]}'
    error = only(validate_text(text), "error")
    assert where(error) == ("Statement[0].Action", 3, 14)
    assert "must be a list" in error.message and '["ims:images:get"]' in error.message


def test_empty_action_list_is_an_error():
    error = only(validate_document(policy(allow())), "error")
    assert error.path == "Statement[0].Action"


def test_unknown_service_is_an_error_on_the_pattern():
    text = '{"Version": "1.1", "Statement": [\n  {"Effect": "Allow",\n   "Action": ["ims:images:get", "vpc:*:*"]}]}'
    error = only(validate_text(text), "error")
    assert where(error) == ("Statement[0].Action[1]", 3, 33)
    assert 'Unknown service "vpc"' in error.message


def test_wildcard_service_is_refused():
    error = only(validate_document(policy(allow("*:images:get"))), "error")
    assert where(error) == ("Statement[0].Action[0]", 7, 9)
    assert "wildcard" in error.message


def test_malformed_patterns_are_refused():
    for pattern in ("ims:images", "ims::get", "ims:images:get:x", "ims:images:get?", "ims:images:get ", ""):
        error = only(validate_document(policy(allow(pattern))), "error")
        assert error.path == "Statement[0].Action[0]", pattern


def test_a_typo_that_matches_no_action_is_an_error_with_a_suggestion():
    text = (
        '{\n "Version": "1.1",\n'
        ' "Statement": [{"Effect": "Allow",\n'
        '   "Action": ["ims:images:get", "ims:images:delet"]}]}'
    )
    error = only(validate_text(text), "error")
    assert where(error) == ("Statement[0].Action[1]", 4, 33)
    assert error.message == 'Action "ims:images:delet" matches no IMS action; did you mean "ims:images:delete"?'


def test_patterns_of_services_without_a_catalogue_are_accepted():
    assert validate_document(policy(allow("ecs:servers:list", "obs:*:*"))).findings == ()


def test_mixing_iam_and_ims_in_a_custom_policy_is_an_error_but_allowed_in_system_documents():
    document = policy(allow("ims:images:get"), allow("iam:users:listUsers"))
    error = only(validate_document(document), "error")
    assert where(error) == ("Statement[1].Action[0]", 13, 9)
    assert "cannot mix global services (iam) with project-level services (ims)" in error.message
    assert validate_document(document, system=True).ok


def test_resource_is_refused_because_ims_and_iam_have_no_resource_paths():
    text = '{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:get"],\n  "Resource": ["*"]}]}'
    error = only(validate_text(text), "error")
    assert where(error) == ("Statement[0].Resource", 2, 3)
    assert "no resource paths" in error.message


CONDITION_TEXT = """\
{
  "Version": "1.1",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["ims:images:get"],
      "Condition": {
        %s
      }
    }
  ]
}"""


def condition_error(body):
    return only(validate_text(CONDITION_TEXT % body), "error")


def test_unknown_condition_operator_points_at_the_operator():
    error = condition_error('"StringEqual": {"g:UserName": ["alice"]}')
    assert where(error) == ("Statement[0].Condition.StringEqual", 8, 9)
    assert error.message == 'Unknown condition operator "StringEqual"; did you mean "StringEquals"?'


def test_operators_are_case_sensitive():
    error = condition_error('"stringequals": {"g:UserName": ["alice"]}')
    assert 'did you mean "StringEquals"' in error.message


def test_null_takes_no_if_exists_or_prefix():
    assert "Null itself tests" in condition_error('"NullIfExists": {"g:UserName": true}').message
    assert "Null itself tests" in condition_error('"ForAnyValue:Null": {"g:UserName": true}').message


def test_unknown_condition_key_points_at_the_key():
    error = condition_error('"StringEquals": {"g:UserNme": ["alice"]}')
    assert where(error) == ("Statement[0].Condition.StringEquals.g:UserNme", 8, 26)
    assert error.message == 'Unknown condition key "g:UserNme"; did you mean "g:UserName"?'


def test_a_number_for_a_date_key_is_refused_at_the_value():
    error = condition_error('"DateLessThan": {"g:CurrentTime": [1700000000]}')
    assert where(error) == ("Statement[0].Condition.DateLessThan.g:CurrentTime[0]", 8, 44)
    assert "ISO 8601 date-times with an offset" in error.message


def test_a_date_without_offset_is_refused():
    error = condition_error('"DateGreaterThan": {"g:CurrentTime": "2025-01-01T00:00:00"}')
    assert where(error) == ("Statement[0].Condition.DateGreaterThan.g:CurrentTime", 8, 46)


def test_a_bad_cidr_is_refused():
    error = condition_error('"IpAddress": {"g:SourceIp": ["10.0.0.0/8", "10.0.0.0/33"]}')
    assert where(error) == ("Statement[0].Condition.IpAddress.g:SourceIp[1]", 8, 52)
    assert '"10.0.0.0/33"' in error.message


def test_maybe_is_not_a_bool():
    error = condition_error('"Bool": {"g:MFAPresent": "maybe"}')
    assert where(error) == ("Statement[0].Condition.Bool.g:MFAPresent", 8, 34)
    assert error.message == 'Bool needs true or false, not "maybe"'


def test_number_operators_need_number_keys_and_numbers():
    error = condition_error('"NumberLessThan": {"g:UserName": [3]}')
    assert error.message == 'NumberLessThan compares number values, but "g:UserName" is a number key'.replace(
        "is a number", "is a string"
    )
    assert "needs numbers" in condition_error('"NumberLessThan": {"g:MFAAge": ["soon"]}').message


def test_string_operators_need_strings():
    assert "needs strings" in condition_error('"StringEquals": {"g:UserName": [5]}').message


def test_an_empty_value_list_is_an_error():
    error = condition_error('"StringEquals": {"g:UserName": []}')
    assert error.path == "Statement[0].Condition.StringEquals.g:UserName"


def test_valid_conditions_of_every_family_pass():
    body = """"StringEqualsIgnoreCase": {"g:UserName": "Alice"},
        "ForAnyValue:StringMatchIfExists": {"ims:ResourceTag/team": ["img-*", "ops?"]},
        "NumberLessThanEquals": {"g:MFAAge": [3600, "7200"]},
        "DateLessThan": {"g:CurrentTime": "2030-01-01T00:00:00Z"},
        "Bool": {"g:MFAPresent": ["true", false]},
        "NotIpAddress": {"g:SourceIp": ["10.0.0.0/8", "2001:db8::/32", "192.168.1.7"]},
        "Null": {"g:DomainName": "false"}"""
    result = validate_text(CONDITION_TEXT % body)
    assert result.findings == ()


def test_an_oversized_document_is_an_error():
    actions = ["ims:images:get"] * 500
    error = only(validate_document(policy(allow(*actions))), "error")
    assert error.path == "" and (error.line, error.column) == (1, 1)
    assert "the limit is 6144" in error.message


def test_the_size_limit_counts_compact_json_characters():
    def sized(length):
        return policy(allow("ims:images:get", Condition={"StringEquals": {"g:UserName": "é" * length}}))

    padding = 6144 - len(json.dumps(sized(0), separators=(",", ":"), ensure_ascii=False))
    assert validate_document(sized(padding)).ok
    assert not validate_document(sized(padding + 1)).ok


def test_duplicate_keys_are_errors_at_the_second_key():
    text = (
        '{\n  "Version": "1.1",\n'
        '  "Version": "1.1",\n'
        '  "Statement": [{"Effect": "Allow", "Action": ["ims:images:get"]}]\n}'
    )
    error = only(validate_text(text), "error")
    assert where(error) == ("Version", 3, 3)
    assert "written twice" in error.message


def test_a_non_object_document_is_an_error():
    for text in ("[]", "1", '"policy"', "null"):
        assert only(validate_text(text), "error").message.startswith("A policy must be a JSON object")


def test_findings_are_sorted_by_position():
    text = '{"Statement": [{"Effect": "allow", "Action": "ims:images:get"}],\n "Version": "2"}'
    result = validate_text(text)
    positions = [(f.line, f.column) for f in result.findings]
    assert positions == sorted(positions)
    assert [f.path for f in result.errors] == ["Statement[0].Effect", "Statement[0].Action", "Version"]


def test_findings_serialise_as_dicts_for_the_editor():
    error = only(validate_document(policy(allow("ims:images:delet"))), "error")
    assert error.as_dict() == {
        "tier": "error",
        "path": "Statement[0].Action[0]",
        "message": error.message,
        "line": 7,
        "column": 9,
    }


# Warnings: saved, but probably not what was meant.


def test_a_deny_that_no_allow_of_the_policy_needs_is_a_warning():
    document = policy(allow("ims:images:get"), {"Effect": "Deny", "Action": ["ims:images:delete"]})
    warning = only(validate_document(document), "warning")
    assert warning.path == "Statement[1].Effect"
    assert "another policy" in warning.message
    assert validate_document(document).ok


def test_a_deny_only_guardrail_policy_is_not_warned_about():
    document = policy({"Effect": "Deny", "Action": ["ims:images:delete"]})
    assert validate_document(document).findings == ()


def test_a_deny_overlapping_an_allow_is_not_warned_about():
    document = policy(allow("ims:*:*"), {"Effect": "Deny", "Action": ["ims:images:delete"]})
    assert validate_document(document).findings == ()


def test_a_duplicate_statement_is_a_warning():
    document = policy(allow("ims:images:get", "ims:images:list"), allow("IMS:images:list", "ims:images:get"))
    result = validate_document(document)
    warning = only(result, "warning")
    assert warning.path == "Statement[1]"
    assert "repeats Statement[0]" in warning.message


def test_an_image_key_on_actions_that_never_supply_it_is_a_warning():
    document = policy(allow("ims:images:list"))
    document["Statement"][0]["Condition"] = {"StringEquals": {"ims:ImageType": "private"}}
    warning = only(validate_document(document), "warning")
    assert warning.path == "Statement[0].Condition.StringEquals.ims:ImageType"
    assert "always be missing" in warning.message


def test_an_image_key_is_fine_when_some_action_supplies_it():
    document = policy(allow("ims:images:list", "ims:images:get"))
    document["Statement"][0]["Condition"] = {"StringEqualsIfExists": {"ims:ImageType": "private"}}
    assert validate_document(document).findings == ()


# Suggestions: style.


def test_a_pattern_already_covered_by_another_is_a_suggestion():
    suggestion = only(validate_document(policy(allow("ims:*:get*", "ims:images:get"))), "suggestion")
    assert suggestion.path == "Statement[0].Action[1]"
    assert suggestion.message == '"ims:images:get" is already covered by "ims:*:get*" in this statement'


def test_a_pattern_listed_twice_is_flagged_once():
    suggestion = only(validate_document(policy(allow("ims:images:get", "ims:images:get"))), "suggestion")
    assert suggestion.path == "Statement[0].Action[1]"


def test_listing_every_action_of_a_resource_type_suggests_a_wildcard():
    images = [action.name for action in IMS_ACTIONS if action.resource_type == "images"]
    suggestion = only(validate_document(policy(allow(*images))), "suggestion")
    assert suggestion.path == "Statement[0].Action[0]"
    assert '"ims:images:*" says the same' in suggestion.message


def test_an_action_in_another_case_suggests_the_catalogue_spelling():
    suggestion = only(validate_document(policy(allow("IMS:Images:Get"))), "suggestion")
    assert suggestion.message == 'Write "IMS:Images:Get" as the catalogue spells it: "ims:images:get"'


def test_expand_pattern_resolves_catalogued_actions_in_any_case():
    assert expand_pattern("ims:images:delete") == {"ims:images:delete"}
    assert expand_pattern("IMS:*:GET*") == {"ims:images:get", "ims:quotas:get"}
    assert expand_pattern("ims:*Images:create") == {
        "ims:images:create",
        "ims:serverImages:create",
        "ims:dataImages:create",
        "ims:wholeImages:create",
    }
    assert expand_pattern("ims:images:delet") == frozenset()
    assert expand_pattern("ecs:*:*") == frozenset()
    assert expand_pattern("not a pattern") == frozenset()


def test_validate_document_reports_values_that_are_not_json():
    result = validate_document({"Version": "1.1", "Statement": [{"Effect": {1, 2}}]})
    assert not result.ok and result.document is None
    nan = validate_document(policy(allow("ims:images:get", Condition={"NumberEquals": {"g:MFAAge": float("nan")}})))
    assert "NaN" in only(nan, "error").message


# Never raise, whatever the input.

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=25,
)
policy_words = st.sampled_from(
    [
        "Version",
        "Statement",
        "Effect",
        "Action",
        "Condition",
        "Resource",
        "Allow",
        "Deny",
        "1.1",
        "1.0",
        "ims:images:get",
        "ims:*:*",
        "iam:users:*",
        "ecs:*:list",
        "*:*:*",
        "StringEquals",
        "ForAllValues:NumberLessThanIfExists",
        "Null",
        "DateLessThan",
        "IpAddress",
        "Bool",
        "g:CurrentTime",
        "g:SourceIp",
        "g:MFAAge",
        "ims:ResourceTag/env",
        "ims:ImageType",
    ]
)
policy_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | policy_words | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(policy_words, children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=examples(300), suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_validate_text_never_raises_on_arbitrary_text(text):
    result = validate_text(text)
    assert all(f.tier in ("error", "warning", "suggestion") for f in result.findings)


@settings(max_examples=examples(300), suppress_health_check=[HealthCheck.too_slow])
@given(json_values | policy_like)
def test_validate_document_never_raises_on_json_like_values(value):
    result = validate_document(value)
    for finding in result.findings:
        assert finding.message
        assert finding.line is None or finding.line >= 1
    validate_document(value, system=True)


@settings(max_examples=examples(300), suppress_health_check=[HealthCheck.too_slow])
@given(policy_like)
def test_validating_the_text_of_a_document_gives_the_same_findings(value):
    text = json.dumps(value, indent=2)
    assert validate_text(text) == validate_document(value)


@given(st.text(alphabet='{}[]":,0123456789 \ntruefalsnNI-.eE\\', max_size=40))
def test_validate_text_never_raises_on_json_looking_garbage(text):
    validate_text(text)


def test_deep_nesting_is_an_error_not_a_crash():
    assert not validate_text("[" * 100_000).ok
    assert not validate_text('{"a":' * 5000 + "1" + "}" * 5000).ok
