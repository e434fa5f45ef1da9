"""Sortable list tables: which columns sort, by what, and the header links that say so.

A table declares its columns once (`Column(key, label, fields)`); the `sort` parameter of the URL picks
one (`name` ascending, `-name` descending). Only declared keys sort: anything else is the table's
default, never an error. Each column's fields end in a unique one (the id), so the order is total
and the keyset pager (accounts/paging.py) pages it with one index range per page whatever the sort.
The header links keep the page's other parameters (its filters) and start again at the first page;
parameters left empty stay out of the URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from accounts.paging import CURSOR_PARAM

SORT_PARAM = "sort"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    fields: tuple[str, ...] = ()  # the keyset order, ending in a unique field; empty: the column does not sort


@dataclass(frozen=True)
class Header:
    key: str
    label: str
    url: str  # the table sorted by this column (ascending, or descending when ascending now); "": no sort
    aria_sort: str  # "ascending", "descending" or ""
    arrow: str


def clean_query(params, **changes) -> str:
    """`params` (a QueryDict) with `changes`, empty values left out, as "?…" (or "" when nothing is left)."""
    pairs = [(key, value) for key in params for value in params.getlist(key) if key not in changes]
    pairs += [(key, value) for key, value in changes.items()]
    kept = [(key, value) for key, value in pairs if value not in ("", None)]
    return "?" + urlencode(kept) if kept else ""


@dataclass(frozen=True)
class TableSort:
    columns: tuple[Column, ...]
    default: str  # a column key, "-" in front for descending

    def chosen(self, params) -> str:
        """The sort the URL asks for when it is one of the table's, else the default."""
        wanted = params.get(SORT_PARAM, "")
        return wanted if wanted.lstrip("-") in self._sortable() else self.default

    def order(self, chosen: str) -> tuple[str, ...]:
        fields = self._sortable()[chosen.lstrip("-")]
        return tuple(f"-{name}" for name in fields) if chosen.startswith("-") else fields

    def headers(self, request, chosen: str) -> list[Header]:
        """The column headers with their links, the current sort marked (with aria-sort)."""
        headers = []
        for column in self.columns:
            if not column.fields:
                headers.append(Header(column.key, column.label, "", "", ""))
                continue
            ascending, descending = chosen == column.key, chosen == f"-{column.key}"
            wanted = f"-{column.key}" if ascending else column.key
            url = request.path + clean_query(request.GET, **{SORT_PARAM: "" if wanted == self.default else wanted,
                                                             CURSOR_PARAM: ""})
            headers.append(Header(column.key, column.label, url,
                                  "ascending" if ascending else "descending" if descending else "",
                                  " ▲" if ascending else " ▼" if descending else ""))
        return headers

    def _sortable(self) -> dict[str, tuple[str, ...]]:
        return {column.key: column.fields for column in self.columns if column.fields}
