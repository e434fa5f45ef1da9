"""How many examples a property test draws.

`make test` and CI draw each test's full count. The fast lane (`make test-fast`, which sets
IMSPERM_FAST_LANE=1) draws a quarter of it, at least ten: every property still runs, on fewer random
cases, so the lane answers in about a minute and a half; the full counts run before anything lands."""

from __future__ import annotations

import os


def examples(full: int) -> int:
    """The examples to draw: `full`, or a quarter of it (at least 10) in the fast lane."""
    return max(10, full // 4) if os.environ.get("IMSPERM_FAST_LANE") == "1" else full
