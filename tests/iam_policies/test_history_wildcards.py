"""Issue 19, item 11: the history's summary compares what each statement allows, as the engine reads it
over the action catalogue, not the action strings: widening list/get/export to ims:images:* gains the
other image actions and loses none."""

import pytest

from accounts import services
from accounts.models import User
from accounts.policy import IMS_ACTIONS
from accounts.policy.compare import statement_changes

NAMED = {"Version": "1.1", "Statement": [
    {"Effect": "Allow", "Action": ["ims:images:list", "ims:images:get", "ims:images:export"]}]}
WILD = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:*"]}]}
IMAGE_ACTIONS = sorted(a.name for a in IMS_ACTIONS if a.name.startswith("ims:images:"))
GAINED = [a for a in IMAGE_ACTIONS if a not in ("ims:images:list", "ims:images:get", "ims:images:export")]


def test_widening_to_a_wildcard_loses_nothing_and_gains_the_rest():
    changes = statement_changes(NAMED, WILD)
    assert not any("no longer" in change for change in changes), changes
    assert len(changes) == 1, changes
    assert changes[0].startswith("Statement 1 now also allows ")
    for action in GAINED:
        assert action in changes[0]
    for kept in ("ims:images:list,", "ims:images:get,", "ims:images:export,"):
        assert kept not in changes[0]


def test_narrowing_from_a_wildcard_names_the_actions_lost():
    changes = statement_changes(WILD, NAMED)
    assert not any("now also" in change for change in changes), changes
    assert changes[0].startswith("Statement 1 no longer allows ")
    assert all(action in changes[0] for action in GAINED)


def test_same_actions_spelled_otherwise_is_no_change_in_what_is_allowed():
    every = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": IMAGE_ACTIONS}]}
    changes = statement_changes(every, WILD)
    assert not any("now also" in c or "no longer" in c for c in changes), changes
    assert changes == [f"Statement 1 names its actions otherwise ({', '.join(IMAGE_ACTIONS)} → ims:images:*) "
                       f"but allows the same {len(IMAGE_ACTIONS)} actions."]
    # Case is not a difference either: the engine matches actions in any case.
    upper = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["IMS:Images:List"]}]}
    lower = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]}
    assert statement_changes(lower, upper) == [
        "Statement 1 names its actions otherwise (ims:images:list → IMS:Images:List) but allows the same 1 action."]


def test_history_page_shows_the_engine_reading(demo, as_user):
    admin = User.objects.get(username="admin")
    policy = services.policy_create(actor=admin, name="Widened", description="", document=NAMED)
    services.policy_update(actor=admin, policy=policy, name="Widened", description="", document=WILD,
                           expected_revision=1)
    response = as_user("admin").get(f"/iam/policies/{policy.pk}/history/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "no longer allows" not in text
    assert "now also allows" in text and "ims:images:delete" in text


@pytest.mark.parametrize("effect,verb", [("Deny", "denies"), ("Allow", "allows")])
def test_effect_is_kept_in_the_sentence(effect, verb):
    before = {"Version": "1.1", "Statement": [{"Effect": effect, "Action": ["ims:images:delete"]}]}
    after = {"Version": "1.1", "Statement": [{"Effect": effect, "Action": ["ims:images:delete", "ims:images:upd*"]}]}
    assert statement_changes(before, after) == [f"Statement 1 now also {verb} ims:images:update."]
