"""aigw local's garbage-collector settings (aigw.local_gateway.heap)."""

from __future__ import annotations

import gc
import time
import weakref
from collections.abc import Iterator

import pytest

from aigw.local_gateway import heap


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    yield
    gc.enable()
    gc.unfreeze()


def _wait_for(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not within 10 s"
        time.sleep(0.01)


class Kept:
    """An object made during a cold start that lives on (a client, a loaded model)."""


def test_after_a_burst_of_cold_starts_what_they_made_is_frozen_once() -> None:
    settler = heap.HeapSettler(delay=0.2)
    made = [Kept() for _ in range(1000)]
    frozen_before = gc.get_freeze_count()

    for name in ("api", "authorizer", "finalize"):
        settler.cold_start_finished(name)

    _wait_for(lambda: settler.settled == 1)
    # Left out of every later collection: no generation holds them any more.
    assert gc.get_freeze_count() >= frozen_before + len(made)
    assert made[0] not in gc.get_objects()
    time.sleep(0.3)
    assert settler.settled == 1  # one settle for the burst, not one per cold start
    settler.close()


def test_garbage_is_collected_before_the_freeze_not_frozen_with_it() -> None:
    settler = heap.HeapSettler(delay=0.05)
    gc.disable()  # no automatic collection finds it first: only the settle's own
    cycle = Kept()
    cycle.itself = cycle  # type: ignore[attr-defined]
    alive = weakref.ref(cycle)
    del cycle

    settler.cold_start_finished()
    _wait_for(lambda: settler.settled == 1)

    gc.enable()
    assert alive() is None  # frozen, it would have lived as long as the gateway
    settler.close()


def test_a_closed_settler_does_not_settle() -> None:
    settler = heap.HeapSettler(delay=0.05)
    settler.cold_start_finished()
    settler.close()
    settler.cold_start_finished()
    time.sleep(0.3)
    assert settler.settled == 0
