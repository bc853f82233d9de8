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
import threading
from collections.abc import Iterator


def settle() -> int:
    """Collect what start-up left, then freeze the rest; the number of objects frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


_pauses = 0
_was_enabled = True
_lock = threading.Lock()


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection inside the block: for a bulk build that only adds objects — the
    registry read and validated at start (1,000,000 sensors: half the time of a 100k-sensor
    site load was the collector), the rule state of every sensor loaded at start (2,000,000
    rows took twice as long with it running) — where each collection walks everything built
    so far for nothing.

    Blocks may overlap across threads (a registry watcher re-reads the registry in a worker
    thread while the loop runs): the collector stays off until the last one ends, and comes
    back on only if it was on when the first began."""
    global _pauses, _was_enabled
    with _lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()
