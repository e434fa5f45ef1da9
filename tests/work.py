"""Work counted, not timed: the lines of Python a call runs, the same on any machine at any load.

Speed is measured by bench/ against peers; a test states how work grows (linear in a document's
size, a bound per statement) with these counts, so a regression to a worse algorithm fails on any
machine while a busy one never does. Counted through sys.monitoring (Python 3.12+) under a tool id of
its own.
"""

import sys
from collections.abc import Callable

_TOOL = 3  # sys.monitoring ids 0, 1, 2 and 5 are taken by convention (debugger, coverage, profiler, optimizer)


def python_steps(function: Callable[[], object]) -> int:
    """How many lines of Python `function()` runs (sys.monitoring LINE events), its own and its callees'."""
    monitoring = sys.monitoring
    steps = 0

    def count(code, line):
        nonlocal steps
        steps += 1

    monitoring.use_tool_id(_TOOL, "imsperm-work")
    try:
        monitoring.register_callback(_TOOL, monitoring.events.LINE, count)
        monitoring.set_events(_TOOL, monitoring.events.LINE)
        function()
    finally:
        monitoring.set_events(_TOOL, 0)
        monitoring.register_callback(_TOOL, monitoring.events.LINE, None)
        monitoring.free_tool_id(_TOOL)
    return steps
