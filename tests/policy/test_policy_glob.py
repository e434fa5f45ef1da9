"""Wildcards: the non-backtracking glob agrees with simple reference matchers, and the validator's
linear rewrites of its pairwise checks say exactly what the pairwise definitions say."""

import re
from functools import cache

from hypothesis import example, given, settings
from hypothesis import strategies as st

from accounts.policy import ACTION_NAMES, compile_document, evaluate, expand_pattern, validate_document
from accounts.policy.glob import ActionPatterns, glob
from tests.properties import examples

# Small alphabets, weighted towards "a" and "*", so that chunks overlap and stars compete.
SUBJECTS = st.lists(st.sampled_from("aaab:\n"), max_size=10).map("".join)
PATTERNS = st.lists(st.sampled_from("aaab**?:\n"), max_size=9).map("".join)
SEGMENT = st.text(alphabet="aAbB*?", max_size=5)


def reference_match(pattern: str, subject: str, *, single: bool = True) -> bool:
    """The textbook recursive definition of a glob, memoised (quadratic, obviously right)."""

    @cache
    def match(i: int, j: int) -> bool:
        if i == len(pattern):
            return j == len(subject)
        if pattern[i] == "*":
            return match(i + 1, j) or (j < len(subject) and match(i, j + 1))
        if j == len(subject):
            return False
        same = pattern[i] == subject[j] or (single and pattern[i] == "?")
        return same and match(i + 1, j + 1)

    return match(0, 0)


def old_string_match(pattern: str, subject: str) -> bool:
    """How StringMatch matched before: `*` as `.*`, `?` as `.` (fine on inputs this small)."""
    parts = ("." if char == "?" else ".*" if char == "*" else re.escape(char) for char in pattern)
    return re.fullmatch("".join(parts), subject, re.DOTALL) is not None


def old_action_match(patterns: list[str], action: str) -> bool:
    """How action patterns matched before: `*` as `[^:]*`, case-insensitively."""
    alternatives = (
        ":".join("[^:]*".join(map(re.escape, segment.split("*"))) for segment in pattern.lower().split(":"))
        for pattern in patterns
    )
    return re.fullmatch("|".join(f"(?:{a})" for a in alternatives), action.lower()) is not None


@settings(max_examples=examples(1500))
@given(PATTERNS, SUBJECTS)
@example("*aa*aa*", "aaa")
@example("*a?*?a", "aaa")
@example("a*a", "a")
def test_the_glob_agrees_with_the_recursive_definition_and_the_old_regex(pattern, subject):
    assert glob(pattern).matches(subject) == reference_match(pattern, subject) == old_string_match(pattern, subject)


@settings(max_examples=examples(500))
@given(PATTERNS, SUBJECTS)
def test_without_single_character_wildcards_a_question_mark_is_itself(pattern, subject):
    assert glob(pattern, single=False).matches(subject) == reference_match(pattern, subject, single=False)


@given(PATTERNS, SUBJECTS, st.integers(min_value=0, max_value=8), st.integers(min_value=1, max_value=5))
def test_repeating_a_star_changes_nothing(pattern, subject, where, extra):
    starred = pattern[:where] + "*" + pattern[where:]
    repeated = pattern[:where] + "*" * (1 + extra) + pattern[where:]
    assert glob(repeated).matches(subject) == glob(starred).matches(subject)


@settings(max_examples=examples(800))
@given(st.lists(st.tuples(SEGMENT, SEGMENT, SEGMENT), min_size=1, max_size=3),
       st.text(alphabet="aAbB:", max_size=9))
def test_action_patterns_agree_with_the_old_per_segment_regex(segments, action):
    patterns = [":".join(parts) for parts in segments]
    assert ActionPatterns(patterns).matches(action) == old_action_match(patterns, action)


@given(st.tuples(SEGMENT, SEGMENT, SEGMENT), st.tuples(SEGMENT, SEGMENT, SEGMENT))
def test_action_patterns_ignore_case_on_both_sides(segments, words):
    pattern, action = ":".join(segments), ":".join(words).replace("*", "")
    matcher = ActionPatterns([pattern])
    assert matcher.matches(action) == matcher.matches(action.swapcase())
    assert ActionPatterns([pattern.swapcase()]).matches(action) == matcher.matches(action)


@given(st.text(alphabet="ab*", max_size=4), st.text(alphabet="ab", max_size=3), st.text(alphabet="ab", max_size=3))
def test_a_star_in_an_action_pattern_never_crosses_a_colon(middle, left, right):
    pattern = f"ims:{middle}*:get"
    assert not ActionPatterns([pattern]).matches(f"ims:{left}:{right}:get")
    assert ActionPatterns(["ims:*:*"]).matches(f"ims:{left}{right}:get")
    assert not ActionPatterns(["ims:*"]).matches(f"ims:{left}:{right}")


# Pieces of catalogued names in both cases, and as many stars (listed often, so drawn often).
CATALOGUE_PIECES = [*sorted({piece for name in ACTION_NAMES for part in name.split(":")
                             for piece in (part, part[:2], part[-3:], part.upper())}), "x", *["*"] * 140]
CATALOGUE_SEGMENT = st.lists(st.sampled_from(CATALOGUE_PIECES), min_size=1, max_size=3).map("".join)


@settings(max_examples=examples(500))
@given(st.tuples(CATALOGUE_SEGMENT, CATALOGUE_SEGMENT, CATALOGUE_SEGMENT).map(":".join))
def test_expanding_a_pattern_finds_the_actions_the_old_regex_found(pattern):
    expected = {name for name in ACTION_NAMES if old_action_match([pattern], name)}
    well_formed = re.fullmatch(r"[A-Za-z0-9*]+(:[A-Za-z0-9*]+){2}", pattern)
    assert expand_pattern(pattern) == (expected if well_formed else set())


def test_examples_of_action_patterns():
    assert ActionPatterns(["ims:*:get*"]).matches("IMS:Quotas:Get")
    assert ActionPatterns(["ims:*Images:create"]).matches("ims:dataImages:create")
    assert ActionPatterns(["ims:**images:***"]).matches("ims:images:list")
    assert not ActionPatterns(["ims:images:list"]).matches("ims:images:list:extra")
    assert expand_pattern("ims:*" + "*" * 40 + "s:list") == {"ims:images:list"}
    assert expand_pattern("*:images:list") == {"ims:images:list"}  # a starred service (stored documents may have one)
    assert expand_pattern("i*:*:LIST*") == {name for name in ACTION_NAMES if name.split(":")[2].startswith("list")}


def test_string_match_question_mark_is_exactly_one_character_of_any_kind():
    document = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"],
                                                 "Condition": {"StringMatch": {"g:UserName": ["a?c*"]}}}]}
    policy = [(0, compile_document(document))]
    decide = lambda name: evaluate(policy, "ims:images:list", {"g:UserName": name}).outcome  # noqa: E731
    assert [decide(name) for name in ("abc", "a\nc", "a.cde", "ac", "abbc", "Abc")] == [
        "allow", "allow", "allow", "implicit_deny", "implicit_deny", "implicit_deny"]


# --- the validator's pairwise checks, rewritten to be linear --------------------------------

VALIDATOR_PATTERNS = [
    "ims:*:*", "ims:images:*", "ims:*:get*", "ims:*:create", "ims:*Images:create", "ims:images:*e",
    "ims:images:list", "IMS:images:list", "ims:images:get", "ims:quotas:get", "ims:images:delete",
    "ecs:servers:list", "ecs:*:list", "ECS:servers:list", "obs:*:*",
]


def _document(statements):
    return {"Version": "1.1", "Statement": [{"Effect": effect, "Action": actions} for effect, actions in statements]}


def _covered_pairwise(actions: list[str]) -> dict[int, str]:
    """Which pattern is "already covered" by which, comparing every pair as the definition says."""
    covered = {}
    for i, pattern in enumerate(actions):
        for j, other in enumerate(actions):
            if i == j or pattern.split(":")[0].lower() != other.split(":")[0].lower():
                continue
            if pattern.lower().startswith(("ims:", "iam:")):
                mine, theirs = expand_pattern(pattern), expand_pattern(other)
                hit = mine <= theirs and (mine != theirs or j < i)
            else:
                hit = j < i and pattern.lower() == other.lower()
            if hit:
                covered[i] = other
                break
    return covered


@settings(max_examples=examples(400))
@given(st.lists(st.sampled_from(VALIDATOR_PATTERNS), min_size=1, max_size=8))
def test_covered_patterns_are_the_ones_the_pairwise_definition_finds(actions):
    result = validate_document(_document([("Allow", actions)]))
    found = {}
    for finding in result.suggestions:
        match = re.fullmatch(r'"[^"]+" is already covered by "([^"]+)" in this statement', finding.message)
        if match:
            found[int(re.search(r"\[(\d+)\]$", finding.path).group(1))] = match.group(1)
    assert found == _covered_pairwise(actions)


@settings(max_examples=examples(300))
@given(st.lists(st.tuples(st.sampled_from(["Allow", "Deny"]),
                          st.lists(st.sampled_from(VALIDATOR_PATTERNS), min_size=1, max_size=3)),
                min_size=1, max_size=5))
def test_unneeded_denies_are_the_ones_overlapping_no_allow_pairwise(statements):
    result = validate_document(_document(statements))
    warned = {finding.path for finding in result.warnings if "overlaps no Allow" in finding.message}

    def overlap(deny, allow):
        if deny.split(":")[0].lower() != allow.split(":")[0].lower():
            return False
        if deny.lower().startswith(("ims:", "iam:")):
            return bool(expand_pattern(deny) & expand_pattern(allow))
        return True

    allows = [p for effect, actions in statements if effect == "Allow" for p in actions]
    expected = {
        f"Statement[{index}].Effect"
        for index, (effect, actions) in enumerate(statements)
        if effect == "Deny" and allows and not any(overlap(d, a) for d in actions for a in allows)
    }
    assert warned == expected


def test_every_catalogued_action_is_matched_by_its_own_name_only_among_names():
    for name in ACTION_NAMES:
        assert expand_pattern(name) == {name}
        assert expand_pattern(name.upper()) == {name}
