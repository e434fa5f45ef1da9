"""Keyset (cursor) paging: a page costs the same on the first page and a thousand pages in.

A page is the `size` rows after (or before) the last (first) row of the page the user came from,
in the order shown, found by an index range (`(name, id) > (?, ?)`) instead of skipping rows with
OFFSET. The cursor in the URL carries that row's sort values and its position, so a link is
shareable and shows "26–50 of …" without counting what lies in front. Counts stop at COUNT_CAP
("more than 10,000"), so no page ever counts a whole table, and only the first page counts at all:
the cursor carries the count it found (and SQLite's choice of plan), signed so that a link cannot
be made to say otherwise; the last page, which sees where the rows end, corrects a count grown stale.

Generic over any model; a caller whose database needs help choosing a plan passes one (the image
list's SQLite cost model, images/list_plan.py): the plan chosen rides in the cursor too.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol
from uuid import UUID

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import F, IntegerField, Q
from django.db.models.expressions import RawSQL
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan

COUNT_CAP = 10_000
CURSOR_PARAM = "cursor"


@dataclass
class KeysetPage:
    rows: list
    size: int
    count: int  # capped: COUNT_CAP + 1 means "more than COUNT_CAP"
    first_index: int  # 1-based position of the first row (0 when the page is empty)
    has_previous: bool
    has_next: bool
    previous_cursor: str = ""
    next_cursor: str = ""
    extra_counts: list[int] = field(default_factory=list)

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)

    @property
    def count_capped(self) -> bool:
        return self.count > COUNT_CAP

    @property
    def count_label(self) -> str:
        return f"more than {COUNT_CAP:,}" if self.count_capped else str(self.count)

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.rows) - 1 if self.rows else 0

    @property
    def number(self) -> int:
        return (max(self.first_index, 1) - 1) // self.size + 1

    @property
    def pages(self) -> int | None:
        """The number of pages, or None when the count is capped."""
        return None if self.count_capped else max(1, -(-self.count // self.size))


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


CURSOR_SALT = "accounts.paging.cursor"


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after ("n") or before ("p") the boundary row at `position` (1-based) whose
    sort values are `values`; with the count and the plan (`sorted_matches`) the first page found."""

    direction: str
    position: int
    values: list
    count: int
    sorted_matches: bool


def encode_cursor(direction: str, position: int, values, count: int, sorted_matches: bool = False) -> str:
    """A URL-safe token of a Cursor, signed (django.core.signing) so that its count and plan are ours."""
    raw = json.dumps([direction, position, count, int(sorted_matches), *[_plain(v) for v in values]],
                     separators=(",", ":"))
    return signing.Signer(salt=CURSOR_SALT).sign(base64.urlsafe_b64encode(raw.encode()).decode().rstrip("="))


def _field(model, name: str):
    """The field that reads a cursor's value: the model's, or the output field of an annotation of the
    queryset passed instead of the model (a list sorted by a count or a coalesced date)."""
    if hasattr(model, "query") and name in model.query.annotations:
        return model.query.annotations[name].output_field
    return (model.model if hasattr(model, "query") else model)._meta.get_field(name)


def decode_cursor(token: str, model, fields: list[str]) -> Cursor | None:
    """The Cursor in a token, or None when it is not one of ours for this order (a bad one means page 1).
    `model` may be the queryset paged, whose annotations then sort too."""
    try:
        unsigned = signing.Signer(salt=CURSOR_SALT).unsign(token)
        raw = base64.urlsafe_b64decode(unsigned + "=" * (-len(unsigned) % 4))
        direction, position, count, sorted_matches, *values = json.loads(raw)
        if (direction not in ("n", "p") or not all(isinstance(n, int) for n in (position, count, sorted_matches))
                or len(values) != len(fields)):
            return None
        typed = [_field(model, name).to_python(value) for name, value in zip(fields, values, strict=True)]
    except (signing.BadSignature, ValueError, TypeError, ValidationError, binascii.Error, UnicodeDecodeError):
        return None
    if any(value is None for value in typed):
        return None
    return Cursor(direction, max(position, 0), typed, min(max(count, 0), COUNT_CAP + 1), bool(sorted_matches))


def _names(order: tuple[str, ...]) -> tuple[list[str], bool]:
    descending = {name.startswith("-") for name in order}
    if len(descending) != 1:
        raise ValueError("Keyset paging needs every sort field in the same direction.")
    return [name.lstrip("-") for name in order], descending.pop()


def boundary_cursor(row, order: tuple[str, ...], position: int, direction: str = "n", *, count: int,
                    sorted_matches: bool = False) -> str:
    """The cursor of the page after (or before) `row`, which sits at `position` (1-based) in `order`,
    among `count` rows found by the plan `sorted_matches` names."""
    fields, _ = _names(order)
    return encode_cursor(direction, position, [getattr(row, name) for name in fields], count, sorted_matches)


def _one_count_sql(counted, cap: int) -> tuple[str, list]:
    """The capped count of `counted`: one queryset, or a list of them counted together (the parts of one
    tab: their rows are disjoint) under one shared cap, so that the count stops at cap + 1 rows in all
    rather than at cap + 1 in each part (a common word's count of the Public tab walked both of its
    parts' ranges to 10,001 before the sum was capped)."""
    group = list(counted) if isinstance(counted, (list, tuple)) else [counted]
    selects, params = [], []
    for queryset in group:
        sql, sql_params = queryset.order_by().values("pk")[: cap + 1].query.get_compiler(queryset.db).as_sql()
        selects.append(sql)
        params.extend(sql_params)
    if len(selects) == 1:
        return selects[0], params
    union = " UNION ALL ".join(f"SELECT * FROM ({sql}) part_{i}" for i, sql in enumerate(selects))
    return f"{union} LIMIT {int(cap) + 1}", params


def _capped_count_sql(counted, caps) -> tuple[list[tuple[str, tuple]], list[int]]:
    """Each of `counted`'s row count (a queryset, or a list of them counted together: _one_count_sql)
    stopping at its cap + 1 as a scalar subquery (an index range each), and for each which of them
    answers it: the same rows asked twice are counted once."""
    distinct: dict[tuple, int] = {}
    positions = []
    for each, cap in zip(counted, caps, strict=True):
        sql, params = _one_count_sql(each, cap)
        sql = f"SELECT COUNT(*) FROM ({sql}) capped_{len(distinct)}"
        positions.append(distinct.setdefault((sql, tuple(params)), len(distinct)))
    return list(distinct), positions


def capped_counts(counted, cap: int = COUNT_CAP, caps=None) -> list[int]:
    """Each queryset's row count, stopping at cap + 1 (or at its own of `caps` + 1), all in one query
    (each count an index range). An item of `counted` may be a list of querysets whose rows are disjoint,
    counted together under its one cap."""
    counted = list(counted)
    if not counted:
        return []
    selects, positions = _capped_count_sql(counted, caps or [cap] * len(counted))
    first = counted[0][0] if isinstance(counted[0], (list, tuple)) else counted[0]
    with connections[first.db].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"({sql})" for sql, _ in selects),
                       [param for _, params in selects for param in params])
        found = cursor.fetchone()
    return [found[position] for position in positions]


_COUNTED_BESIDE = "paging_capped_count_{}"


def _with_counts(queryset, counted, caps):
    """`queryset` with each of `counted`'s capped counts as a column: a subquery the database answers
    once for the whole statement (it names no outer column), so the counts cost no query of their own."""
    if not counted:
        return queryset, []
    selects, positions = _capped_count_sql(counted, caps)
    annotations = {_COUNTED_BESIDE.format(i): RawSQL(sql, params, output_field=IntegerField())
                   for i, (sql, params) in enumerate(selects)}
    return queryset.annotate(**annotations), positions


def query_key(queryset) -> tuple:
    """What a queryset asks, as its SQL and parameters: the same rows asked twice have the same key."""
    sql, params = queryset.query.sql_with_params()
    return sql, tuple(params)


def _window(parts, condition, order, limit: int, sort_order=None, counted=(), caps=(), keys_first=False):
    """The first `limit` rows of the union of `parts` past `condition`, in `order`, with the capped
    counts of `counted` on each row (see _with_counts): (queryset, which count answers each).

    Each part is one index range; a union of several (the Public tab's two image types) takes the
    first `limit` of each through its own index, then orders those few: no sort over a whole table.
    With `keys_first`, one part is asked the same way: its first `limit` keys (a walk PostgreSQL can
    read from an index alone, testing each entry without its row), then those rows by key.
    `sort_order(order, vendor)`, when given, rewrites the order so that the matches are sorted rather
    than walked (a plan's choice for a selective search).
    """
    if sort_order is not None:
        order = sort_order(order, connections[parts[0].db].vendor)
    if len(parts) == 1 and not keys_first:
        rows, positions = _with_counts(parts[0].filter(condition), counted, caps)
        return rows.order_by(*order)[:limit], positions
    firsts = [part.filter(condition).order_by(*order).values("pk")[:limit] for part in parts]
    if len(firsts) == 1:
        ids = Q(pk__in=firsts[0])
    elif connections[parts[0].db].features.supports_slicing_ordering_in_compound:
        # PostgreSQL: one IN over a UNION ALL (an OR of INs there is a sequential scan).
        ids = Q(pk__in=firsts[0].union(*firsts[1:], all=True))
    else:
        # SQLite: one IN per part, which it answers with a multi-index OR.
        ids = Q()
        for first in firsts:
            ids |= Q(pk__in=first)
    rows, positions = _with_counts(parts[0].model._default_manager.filter(ids), counted, caps)
    return rows.order_by(*order)[:limit], positions


class Plan(Protocol):
    """A page's choice between sorting its matches and walking the sort's index (images/list_plan.py)."""

    def sorts(self, count: int, size: int, counted: dict[tuple, int]) -> bool: ...
    def walks(self) -> list: ...
    def sorted_order(self, order, vendor: str): ...


@dataclass
class _Start:
    """What a page knows before its rows: its count and extra counts when already known, whether its
    plan sorts the matches, and the querysets counted on the rows' own query (with their caps)."""

    count: int | None
    extra: list[int] | None
    sorts: bool
    beside: list
    caps: list[int]


def _start(parts, also_count, also_count_cap: int, decoded: Cursor | None, plan: Plan | None,
           size: int) -> _Start:
    if decoded is not None:  # a later page: the cursor carries the count and the plan
        return _Start(decoded.count, None, decoded.sorted_matches, also_count, [also_count_cap] * len(also_count))
    if plan is not None:  # the plan is chosen by the counts: they come first, in one query
        counts = capped_counts([parts, *also_count], caps=[COUNT_CAP] + [also_count_cap] * len(also_count))
        count, extra = counts[0], counts[1:]
        exact = {query_key(queryset): counted for queryset, counted in zip(also_count, extra, strict=True)
                 if counted <= also_count_cap}  # not stopped by its cap
        return _Start(count, extra, plan.sorts(count, size, exact), [], [])
    return _Start(None, None, False, [parts, *also_count], [COUNT_CAP] + [also_count_cap] * len(also_count))


@dataclass
class _Fetched:
    rows: list
    positions: list[int]  # which of the counts beside the rows answers each counted queryset
    first: int
    has_previous: bool
    has_next: bool


def _fetch(parts, order, decoded: Cursor | None, size: int, window) -> _Fetched:
    """The page's rows: the first `size`, or those after or before the cursor's boundary row."""
    if decoded is None:
        rows, positions = window(Q(), order)
        return _Fetched(rows[:size], positions, 1, False, len(rows) > size)
    fields, descending = _names(order)
    columns = Tuple(*[F(name) for name in fields])
    if decoded.direction == "n":
        later = TupleLessThan if descending else TupleGreaterThan
        rows, positions = window(later(columns, decoded.values), order)
        return _Fetched(rows[:size], positions, decoded.position + 1, True, len(rows) > size)
    earlier = TupleGreaterThan if descending else TupleLessThan
    reverse = tuple(name[1:] if name.startswith("-") else f"-{name}" for name in order)
    rows, positions = window(earlier(columns, decoded.values), reverse)
    has_previous = len(rows) > size
    rows = rows[:size][::-1]
    return _Fetched(rows, positions, max(decoded.position - len(rows), 1) if has_previous else 1, has_previous, True)


def _counts(start: _Start, fetched: _Fetched, decoded: Cursor | None) -> tuple[int, list[int]]:
    """The page's count and extra counts: from the counts beside its rows (or counted apart when no row
    carries them), corrected on a later page by what it saw."""
    count, extra = start.count, start.extra
    if start.beside:
        if fetched.rows:
            counted = [getattr(fetched.rows[0], _COUNTED_BESIDE.format(position)) for position in fetched.positions]
        else:
            counted = capped_counts(start.beside, caps=start.caps)
        if decoded is None:
            count, extra = counted[0], counted[1:]
        else:
            extra = counted
    if decoded is not None:
        count = _corrected_count(count, fetched.first + len(fetched.rows) - 1, fetched.has_next)
    return count, extra or []


def keyset_page(parts, order: tuple[str, ...], *, size: int, cursor: str = "", prepare=None, attach=None,
                also_count=(), also_count_cap: int = COUNT_CAP, plan: Plan | None = None,
                keys_first: bool = False) -> KeysetPage:
    """One page of a queryset (or of the union of several, `parts`) in `order`: all ascending or all
    descending, ending in a unique field.

    `cursor` comes from a previous page's links (a bad one means the first page); `prepare` adds
    select_related/prefetch to the rows' queryset; `attach(rows)` loads relations onto the page's rows
    once they are known; `also_count` are querysets counted beside the page's own count (the quota), on
    every page, up to `also_count_cap` + 1. The counts ride on the rows' own query, except when `plan`
    needs them first to choose. A cursor carries the first page's count and plan, so later pages count
    only `also_count`. `keys_first` finds a single part's page by its keys first (see _window).
    """
    parts = [parts] if hasattr(parts, "model") else list(parts)
    decoded = decode_cursor(cursor, parts[0], _names(order)[0]) if cursor else None
    also_count = list(also_count)
    start = _start(parts, also_count, also_count_cap, decoded, plan, size)
    if plan is not None and not start.sorts:
        parts = plan.walks()
    prepare = prepare or (lambda queryset: queryset)
    sort_order = plan.sorted_order if plan is not None and start.sorts else None

    def window(condition, window_order):
        rows, positions = _window(parts, condition, window_order, size + 1, sort_order, start.beside, start.caps,
                                  keys_first)
        return list(prepare(rows)), positions

    fetched = _fetch(parts, order, decoded, size, window)
    count, extra = _counts(start, fetched, decoded)
    if attach is not None and fetched.rows:
        attach(fetched.rows)
    return _page(fetched, order, size, count, extra, start.sorts)


def _page(fetched: _Fetched, order, size: int, count: int, extra: list[int], sorts: bool) -> KeysetPage:
    rows, first = fetched.rows, fetched.first
    page = KeysetPage(rows=rows, size=size, count=count, first_index=first if rows else 0,
                      has_previous=fetched.has_previous, has_next=fetched.has_next, extra_counts=extra)
    if rows:
        if fetched.has_previous:
            page.previous_cursor = boundary_cursor(rows[0], order, first, "p", count=count, sorted_matches=sorts)
        if fetched.has_next:
            page.next_cursor = boundary_cursor(rows[-1], order, first + len(rows) - 1, "n", count=count,
                                               sorted_matches=sorts)
    return page


def _corrected_count(carried: int, last_index: int, has_next: bool) -> int:
    """The count a cursor carried, corrected by what this page saw: the last page knows exactly where
    the rows end, and any page that rows lie beyond (rows added since the first page)."""
    if carried > COUNT_CAP:
        return carried
    if not has_next:
        return min(last_index, COUNT_CAP + 1)
    return min(max(carried, last_index + 1), COUNT_CAP + 1)
