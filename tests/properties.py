"""How many examples a property test draws.

`make test` and CI draw each test's full count. The fast lane (`make test-fast`, which sets
IMSPERM_FAST_LANE=1) draws a quarter of it, at least ten: every property still runs, on fewer random
cases, so the lane answers in about a minute and a half; the full counts run before anything lands."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable

from hypothesis import strategies as st


def examples(full: int) -> int:
    """The examples to draw: `full`, or a quarter of it (at least 10) in the fast lane."""
    return max(10, full // 4) if os.environ.get("IMSPERM_FAST_LANE") == "1" else full


def one_of(values: Iterable) -> st.SearchStrategy:
    """`st.sampled_from(values)`, built once per list of values. A strategy built afresh inside a
    `@st.composite` at every draw is validated afresh by Hypothesis each time (its emptiness and reuse worked
    out again), which was most of a property test's time here; the same strategy object is checked once."""
    values = tuple(values)
    try:
        return _sampled_from(values)
    except TypeError:  # a value that cannot be hashed: built each time, as sampled_from would be
        return st.sampled_from(values)


@functools.cache
def _sampled_from(values: tuple) -> st.SearchStrategy:
    return st.sampled_from(values)
