"""The one process cache: a bounded, thread-safe, least-recently-used memo shared by a process's requests.

Whatever is cached from the database is keyed by the authorization stamp (`authz.current_stamp()`),
which every change that can alter a decision or a page renews inside its transaction
(accounts/signals.py). So nothing is ever invalidated by hand: the very next request of every
process reads the new stamp, asks for keys that are not cached yet, and the entries of older stamps
age out. Values computed from content alone (a compiled policy document, a menu's HTML for one state
of it) are keyed by that content. Values are built outside the lock, so a slow build never blocks
readers of other keys; two requests building the same key at once both build and the last one stays,
which is harmless for values that depend only on their key.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import ClassVar


class ProcessCache[V]:
    """At most `size` values by key; `get_or_build(key, build)` answers from memory or builds and keeps."""

    every: ClassVar[dict[str, ProcessCache]] = {}

    def __init__(self, name: str, size: int):
        if size < 1:
            raise ValueError("A process cache holds at least one value.")
        self.name, self.size = name, size
        self._values: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()
        ProcessCache.every[name] = self

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def put(self, key: Hashable, value: V) -> V:
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)
        return value

    def get_or_build(self, key: Hashable, build: Callable[[], V],
                     still_valid: Callable[[V], bool] | None = None) -> V:
        """The value kept for `key`, or `build()` kept from now on. `still_valid(value)` may refuse a
        kept value for what the key cannot say (the user object's own state, say): it is built again."""
        value = self.get(key)
        if value is None or (still_valid is not None and not still_valid(value)):
            value = self.put(key, build())
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def __len__(self) -> int:
        return len(self._values)

    @classmethod
    def clear_every(cls) -> None:
        """Empty every process cache (benchmarks measuring a cold process)."""
        for cache in cls.every.values():
            cache.clear()
