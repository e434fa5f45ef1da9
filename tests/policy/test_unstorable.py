"""The one check of JSON no database can store (accounts/policy/locate.py): the locating parser,
`loads` and `unstorable` refuse the same things at the same place, keys and values, at any depth."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accounts.policy import locate

# No low surrogate: a high one followed by a low one would be written as a pair, one character.
TEXT = st.text(alphabet=st.sampled_from(["a", "é", "\U0001f600", "\x00", "\ud800", "\udbff", "/", "~", '"']),
               max_size=4)
VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                      | TEXT, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                      max_leaves=12)


def first_refusal_of_parse(text: str):
    try:
        locate.parse(text)
    except locate.LocateError as error:
        return error.path, error.message
    return None


@given(VALUES)
def test_the_parser_loads_and_the_walk_agree_on_what_and_where(value):
    text = json.dumps(value)
    problems = locate.unstorable(value)
    parsed = first_refusal_of_parse(text)
    try:
        locate.loads(text)
    except locate.UnusableJSON as error:
        loaded = error.problems
    else:
        loaded = []
    assert loaded == problems
    if problems:
        (path, message), *_ = problems
        assert parsed is not None and parsed[0] == path
        assert parsed[1] == message.replace("A key", "A string")
    else:
        assert parsed is None


@pytest.mark.parametrize(("value", "path", "message"), [
    ({"user": "\ud800"}, ("user",), "lone surrogate (\\ud800)"),
    ({"requests": [{"project": "a\x00"}]}, ("requests", 0, "project"), "NUL character"),
    ({"a": {"k\x00": 1}}, ("a", "k\x00"), "A key contains a NUL"),
    ({"n": float("inf")}, ("n",), "Number too large"),
    ({"n": 10 ** 5000}, ("n",), "Number too long"),
])
def test_the_walk_names_the_place(value, path, message):
    ((found_path, found_message),) = locate.unstorable(value)
    assert found_path == path and message in found_message


def test_the_walk_survives_any_depth_and_stops_at_200():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    ((path, message),) = locate.unstorable({"x": deep})
    assert message == "Nested too deeply" and path == ("x", *[0] * 199)
    assert locate.unstorable({"x": json.loads("[" * 198 + "]" * 198)}) == []


def test_shown_text_is_short_and_storable():
    assert locate.shown("k" * 1_000_000) == "k" * 40 + "… (1,000,000 characters)"
    assert locate.shown("a\x00\ud800") == "a\\u0000\\ud800"
    assert locate.json_path(("requests", 0, "a b", "g:UserName")) == '$.requests[0]["a b"].g:UserName'
    assert locate.json_pointer(("requests", 0, "a/b~")) == "/requests/0/a~1b~0"
