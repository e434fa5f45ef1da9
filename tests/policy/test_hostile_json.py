"""JSON that no database can store, or that would exhaust the parser, is a located error."""

import pytest

from accounts.policy import validate_text

VALID = '{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]%s}]}'


@pytest.mark.parametrize(("text", "message", "column"), [
    ('{"\\ud800": 1}', "A string contains a lone surrogate (\\ud800), which is not a character", 2),
    ('["\\udfff"]', "lone surrogate (\\udfff)", 2),
    ('["a\\u0000b"]', "A string contains a NUL character (\\u0000), which cannot be stored", 2),
    ("[" + "9" * 5000 + "]", "Number too long", 2),
    ("[1e999]", "Number too large", 2),
    ("[" * 20_000 + "]" * 20_000, "Nested too deeply", 201),
])
def test_unstorable_or_exhausting_json_is_an_error_with_its_place(text, message, column):
    result = validate_text(text)
    assert not result.ok and result.document is None
    (finding,) = result.errors
    assert message in finding.message and (finding.line, finding.column) == (1, column)


def test_a_hundred_thousand_levels_are_refused_before_parsing():
    (finding,) = validate_text("[" * 100_000 + "]" * 100_000).errors
    assert "too long to read" in finding.message


def test_a_surrogate_pair_is_one_character_and_fine():
    result = validate_text(VALID % ', "Condition": {"StringEquals": {"g:UserName": "\\ud83d\\ude00"}}')
    assert result.ok
    assert result.document["Statement"][0]["Condition"]["StringEquals"]["g:UserName"] == "\U0001f600"
