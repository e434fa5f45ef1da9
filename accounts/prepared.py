"""Queries of a fixed shape compiled to SQL once per process, then run with new values.

A page's relations (each row's tags, its members) are read by the same query every time, only the
row keys change; building and compiling that queryset costs several times what the database spends
answering it. `RowsByKey` lets the ORM write the SQL once per number of keys, checks that the values
it bound are exactly the keys, and afterwards only binds the new keys and converts the rows as the ORM
would (its own converters, `Model.from_db`). `prefetched` and `cached_relation` then put the rows
where `prefetch_related` and `select_related` would.

The one module of the app that touches the ORM's private attributes (docs/decisions.md, "Prepared
reads"): the public way, `prefetch_related_objects` with `Prefetch` and a queryset per request, costs
a list page of 50 rows several times this for its relations (bench/orm_public.py measures both in one
run). tests/accounts/test_prepared.py compares every result with the public ORM's, so a Django
release that changes these attributes fails there, loudly, not silently.
"""

from __future__ import annotations

from django.db import connections


class RowsByKey:
    """Rows of `model` whose field `key` is one of some values, in `order`: `rows(values)` ≡
    `list(model._base_manager.filter(key__in=values).order_by(*order))`, compiled once per length."""

    def __init__(self, model, key: str, order: tuple[str, ...] = ()):
        self.model, self.key, self.order = model, key, order
        # (alias, number of keys) → compiled SQL; two threads compiling the same one at once both
        # store the same answer, so no lock.
        self._compiled: dict[tuple[str, int], tuple] = {}

    def _queryset(self, alias: str, values):
        return self.model._base_manager.using(alias).filter(**{f"{self.key}__in": values}).order_by(*self.order)

    def _compile(self, alias: str, values: list, bound: list):
        """The SQL, converters and column names, or None when the ORM bound anything but the keys."""
        compiler = self._queryset(alias, values).query.get_compiler(alias)
        sql, params = compiler.as_sql()
        if list(params) != bound:
            return None
        columns = [column for column, _, _ in compiler.select]
        return sql, list(compiler.get_converters(columns).items()), [column.target.attname for column in columns]

    def rows(self, values, *, using: str = "default") -> list:
        values = list(dict.fromkeys(values))
        if not values:
            return []
        connection = connections[using]
        field = self.model._meta.get_field(self.key)
        bound = [field.get_db_prep_value(value, connection) for value in values]
        key = (using, len(values))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compile(using, values, bound)
            if compiled is None:  # a key type whose SQL value the ORM prepares otherwise: no shortcut
                return list(self._queryset(using, values))
            self._compiled[key] = compiled
        sql, converters, names = compiled
        with connection.cursor() as cursor:
            cursor.execute(sql, bound)
            fetched = cursor.fetchall()
        if converters:  # as SQLCompiler.apply_converters, with this thread's connection
            fetched = [list(row) for row in fetched]
            for row in fetched:
                for position, (functions, expression) in converters:
                    value = row[position]
                    for function in functions:
                        value = function(value, expression, connection)
                    row[position] = value
        return [self.model.from_db(using, names, row) for row in fetched]


def prefetched(instance, relation: str, rows: list) -> None:
    """`instance.<relation>.all()` answers `rows` from memory, as after prefetch_related."""
    queryset = instance._meta.get_field(relation).related_model._base_manager.all()
    queryset._result_cache, queryset._prefetch_done = rows, True
    if not hasattr(instance, "_prefetched_objects_cache"):
        instance._prefetched_objects_cache = {}
    instance._prefetched_objects_cache[relation] = queryset


def prefetched_rows(instance, relation: str) -> list | None:
    """The rows `instance.<relation>.all()` answers from memory (after prefetch_related or
    `prefetched`), without building its manager and queryset; None when they are not in memory."""
    cache = getattr(instance, "_prefetched_objects_cache", None)
    queryset = cache.get(relation) if cache else None
    return None if queryset is None else queryset._result_cache


def loaded_relation(instance, field: str):
    """`instance.<field>` when select_related (or `cached_relation`) loaded it, else None, without a query
    or the descriptor (which costs as much as the rest of a page row's keys); None for a non-model too."""
    state = getattr(instance, "_state", None)
    return None if state is None else state.fields_cache.get(field)


def cached_relation(instance, field: str, value) -> None:
    """`instance.<field>` answers `value` without a query, as after select_related."""
    instance._state.fields_cache[field] = value
