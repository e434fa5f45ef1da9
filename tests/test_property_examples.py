"""The fast lane draws fewer random examples; make test and CI draw every one (tests/properties.py)."""

from tests.properties import examples


def test_make_test_draws_each_property_tests_full_count(monkeypatch):
    monkeypatch.delenv("IMSPERM_FAST_LANE", raising=False)
    assert examples(300) == 300


def test_the_fast_lane_draws_a_quarter_and_never_fewer_than_ten(monkeypatch):
    monkeypatch.setenv("IMSPERM_FAST_LANE", "1")
    assert (examples(300), examples(12)) == (75, 10)
