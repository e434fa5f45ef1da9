"""The image list's cost model on SQLite: sort a narrowed page's matches, or walk the sort's index?

SQLite's planner knows no value is commoner than another (sqlite_stat1 keeps only averages), so a
frequent status sorted by date fetched all 1,131 active images of a project through the filters'
index and sorted them to show 10. A narrowed page of the list therefore chooses itself, from the
page's own count and the rows before the filters (counted only as far as the choice needs), and
forces the choice both ways: `+name` ordering makes SQLite sort; filters written so that no index
serves them (images.selectors._unindexed) make it walk. PostgreSQL keeps the most common values and
chooses well alone. The choice rides in the cursor (accounts.paging), so later pages make it again
for free.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import F, Func

from accounts import paging

from . import search_index

# Fetching and sorting one matching row costs about three times as much as stepping over one row of the
# sort's index and checking it (SQLite, the benchmark's data: 1,131 rows sorted in 3.6 ms; a page walked
# through a 2,000-row range in 0.15 ms).
SORT_COST_PER_ROW = 3


# A name search's rows come from the trigram index (every match's key, then its image: 14,386 matches of
# "ubuntu" among 100k images read in 46 ms) or from testing each name while walking an index that holds it
# (LIKE: a tab's 7,000 names tested in 1 ms): reading a match costs about this many names tested.
MATCH_COST_PER_NAME_TESTED = 30


def searches_name_row_by_row(connection, text: str) -> bool:
    """Whether a name search is answered by testing each name while walking (and counting) the tab rather
    than through the trigram index's matches: on SQLite, when at least one image in MATCH_COST_PER_NAME_TESTED
    matches (a common word), since then reading the matches costs more than testing every name of a tab. The
    matches are counted in the trigram index only that far (search_index.is_common), so the choice costs
    little whatever the word. ASCII terms only: a test of the name row by row folds case as the index does
    for an ASCII name (a name with other characters is still asked of the index, images.selectors)."""
    return (connection.vendor == "sqlite" and len(text) >= 3 and text.isascii()
            and search_index.is_common(connection, text, MATCH_COST_PER_NAME_TESTED))


def rows_that_make_sorting_cheaper(count: int, size: int) -> int:
    """The fewest rows before the filters for which sorting `count` matches beats the walk: a page's
    plan needs the rows before the filters counted only this far (a selective search: a few rows)."""
    return -(-SORT_COST_PER_ROW * count * count // (size + 1))


def sorting_is_cheaper(count: int, total: int, size: int) -> bool:
    """Whether a page of `count` matches among `total` rows is found faster by fetching the matches through
    the filters' index and sorting them, than by walking the sort's index: the walk steps over about
    total / count rows for each of the page's size + 1 (none match: it would step over all of them)."""
    if count == 0:
        return True
    return count * SORT_COST_PER_ROW <= (size + 1) * total / count


@dataclass(frozen=True)
class PlanChoice:
    """A narrowed page's choice between sorting its matches and walking the sort's index, for
    accounts.paging.keyset_page: `totals()` are the same rows before the filters, `walks()` the page's
    parts written so that no index serves their filters. Both are built only when asked for."""

    totals: Callable[[], list]
    walks: Callable[[], list]

    def sorts(self, count: int, size: int, counted: dict[tuple, int]) -> bool:
        """Whether to sort the page's `count` matches. The rows before the filters are counted only as
        far as the comparison needs; a queryset already counted exactly beside the page (`counted`, by
        its SQL: the Private tab is its quota) is not counted again. When more rows than the cap would
        be needed to make sorting cheaper (a few hundred matches already need that many), the walk is
        chosen without counting."""
        if count == 0:
            return True
        needed = rows_that_make_sorting_cheaper(count, size)
        if needed > paging.COUNT_CAP:
            return False
        totals = self.totals()
        unknown = [queryset for queryset in totals if paging.query_key(queryset) not in counted]
        fresh = dict(zip(map(paging.query_key, unknown), paging.capped_counts(unknown, cap=needed), strict=True))
        total = sum(counted.get(key, fresh.get(key, 0)) for key in map(paging.query_key, totals))
        return sorting_is_cheaper(count, total, size)

    @staticmethod
    def sorted_order(order, vendor: str):
        """`order` as expressions SQLite cannot serve from an index (`+name`), so its planner fetches the
        few matching rows by key and sorts them rather than walking the sort index past non-matches."""
        if vendor != "sqlite":
            return order
        terms = []
        for name in order:
            expression = Func(F(name.lstrip("-")), template="+%(expressions)s")
            terms.append(expression.desc() if name.startswith("-") else expression.asc())
        return terms
