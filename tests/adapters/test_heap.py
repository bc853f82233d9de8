"""`adapters.heap.settle`: the start-up heap frozen out of the collector's walks, its garbage
collected first, and what is frozen still freed by reference counting."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator

import pytest

from adapters import heap


@pytest.fixture(autouse=True)
def _thawed() -> Iterator[None]:
    yield
    gc.unfreeze()  # the rest of the test session keeps a normal heap


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_settle_collects_start_up_cycles_then_freezes_the_rest() -> None:
    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle only the collector can free
    gone = weakref.ref(a)
    del a, b
    kept = Node()
    frozen = heap.settle()
    assert gone() is None, "start-up garbage is collected before the freeze"
    assert frozen == gc.get_freeze_count() > 0
    assert not any(o is kept for o in gc.get_objects(generation=2)), "kept is frozen"


def test_a_frozen_object_is_still_freed_by_reference_counting() -> None:
    state = {"sensor": Node()}
    heap.settle()
    freed = weakref.ref(state["sensor"])
    del state["sensor"]  # a retired sensor's state, a replaced registry
    assert freed() is None


def test_paused_stops_the_collector_for_the_block_and_restores_it() -> None:
    assert gc.isenabled()
    with heap.paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), heap.paused():
        raise RuntimeError("a failed load")
    assert gc.isenabled(), "an error in the block does not leave the collector off"
    gc.disable()
    try:
        with heap.paused():
            pass
        assert not gc.isenabled(), "a collector that was off stays off"
    finally:
        gc.enable()


def test_overlapping_pauses_in_two_threads_keep_the_collector_off_until_the_last_ends() -> None:
    # A watcher's re-read in a worker thread may overlap another pause: the first to end must
    # not turn the collector back on under the other, nor the last leave it off.
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with heap.paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with heap.paused():
            second_in.set()
            first_out.wait(5)
            seen.append(gc.isenabled())  # the first block has ended, this one has not

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == [False]
    assert gc.isenabled()
