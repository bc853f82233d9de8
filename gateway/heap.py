"""The heap after start-up: what a long-running hub process keeps for its whole life — the
registry, the rule engine's state of every sensor, the modules — is handed to `gc.freeze()`,
so the cyclic collector's full collections no longer walk it.

Why: a reading allocates a few containers (its message, measurement and fields, its share of
a batch, the rule-state rows of `changes()`); the ones a batch holds live long enough to be
promoted, and every few batches CPython runs a full collection over every tracked object of
the process. With 20,000 sensors that was 4 full collections costing 0.69 s of CPU in 50,000
readings — `changes()` 17.9 µs a reading instead of 6.8 with the start-up heap frozen — and
it grows with the site: at 1,000,000 sensors each full collection would walk tens of millions
of objects, a stall of seconds in the live path.

Freezing is safe here: the frozen objects are still freed by reference counting when they go
(a registry version replaced, a sensor retired); only a reference cycle among them would stay,
and the start-up's own cycles are collected first.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


def settle() -> int:
    """Collect what start-up left, then freeze the rest; the number of objects frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection inside the block: for a bulk build that only adds objects (the
    rule state of every sensor loaded at start), where each collection would walk everything
    built so far for nothing — 2,000,000 state rows loaded and turned into engine state took
    twice as long with the collector running."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
