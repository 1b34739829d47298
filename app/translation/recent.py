"""What one process keeps in memory for translating fast: recent translations in front of the
database cache (least recently used dropped first), and, for `api_cache_seconds`, the
district's engine choices and whether people translated a text, or anything in a direction
(the translate API's fast path reads neither the database nor a model when all it needs is
here).

Cached translations never change once made, so the first is always right; the others are
dropped here when this process changes them, and trusted for at most `api_cache_seconds` when
another process may have."""

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

MISSING: Any = object()


class Recent:
    """A thread-safe LRU map, its entries optionally good for `ttl()` seconds."""

    def __init__(self, size: int | None = None, ttl: bool = False) -> None:
        self._size = size
        self._ttl = ttl
        self._items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def _limits(self) -> tuple[int, float]:
        from app.core.config import get_settings

        settings = get_settings()
        size = self._size if self._size is not None else settings.translate_memory_entries
        return size, settings.api_cache_seconds

    def get(self, key: Hashable, default: Any = MISSING) -> Any:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return default
            if self._ttl and item[0] < time.monotonic():
                del self._items[key]
                return default
            self._items.move_to_end(key)
            return item[1]

    def put(self, key: Hashable, value: Any) -> None:
        size, seconds = self._limits()
        if size <= 0 or (self._ttl and seconds <= 0):
            return
        with self._lock:
            self._items[key] = (time.monotonic() + seconds, value)
            self._items.move_to_end(key)
            while len(self._items) > size:
                self._items.popitem(last=False)

    def pop(self, key: Hashable) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


# (source, target, engine, cache text_hash) → (translation with placeholders, Quality)
translations = Recent()
# () → {language: engine} as engine_choices reads it
choices = Recent(size=1, ttl=True)
# (school id, source, target, memory text_hash) → a person's translation for that school, or
# None (none known)
people = Recent(ttl=True)
# (source, target) → whether people translated anything in that direction at all
people_directions = Recent(ttl=True)


def forget() -> None:
    """Everything: after cache rows or people's translations were deleted (records erasure,
    retention), and between tests."""
    translations.clear()
    choices.clear()
    people.clear()
    people_directions.clear()
