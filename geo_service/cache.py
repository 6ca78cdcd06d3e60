"""The one cache helper: a bounded LRU where each key is computed once even under concurrent requests.

Analysis results, map data and tiles all use it. Keys carry the layers' version stamps, so an edit
makes new keys and old entries simply age out; nothing needs explicit invalidation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from cachetools import LRUCache

T = TypeVar("T")


class SingleFlightCache:
    """LRU of computed values; concurrent callers of a missing key wait for one computation."""

    def __init__(self, maxsize: int):
        self._data: LRUCache = LRUCache(maxsize=maxsize)
        self._lock = threading.Lock()
        self._building: dict[Hashable, threading.Lock] = {}

    @property
    def maxsize(self) -> int:
        return int(self._data.maxsize)

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def peek(self, key: Hashable) -> Any | None:
        with self._lock:
            return self._data.get(key)

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._data:
                return self._data[key]  # LRUCache moves it to the young end on access
            key_lock = self._building.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._data:
                    return self._data[key]
            try:
                value = compute()
                with self._lock:
                    self._data[key] = value
            finally:
                with self._lock:
                    self._building.pop(key, None)
            return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
