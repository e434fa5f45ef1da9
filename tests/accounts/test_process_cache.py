"""The one process cache (accounts/process_cache.py): bounded, least recently used, rebuilt when told."""

from accounts.process_cache import ProcessCache


def test_it_keeps_at_most_its_size_and_drops_the_least_recently_used():
    cache = ProcessCache("test: three", 3)
    for key in "abc":
        cache.get_or_build(key, lambda key=key: key.upper())
    assert cache.get("a") == "A"  # a is now the most recently used
    cache.get_or_build("d", lambda: "D")
    assert len(cache) == 3
    assert cache.get("b") is None
    assert [cache.get(key) for key in "acd"] == ["A", "C", "D"]


def test_a_kept_value_is_built_only_once_until_it_is_refused():
    cache, built = ProcessCache("test: builds", 2), []

    def build():
        built.append(1)
        return {"n": len(built)}

    assert cache.get_or_build("k", build) == {"n": 1}
    assert cache.get_or_build("k", build) == {"n": 1}
    assert cache.get_or_build("k", build, still_valid=lambda value: value["n"] > 1) == {"n": 2}
    assert len(built) == 2


def test_every_cache_of_the_console_is_one_of_these():
    """The caches keyed by the authorization stamp or by content, each declared once (issue 22)."""
    import images.templatetags.images_tags  # noqa: F401

    assert {"compiled grants", "compiled documents", "projects", "side menus", "who-can directories",
            "project switchers"} <= set(ProcessCache.every)
