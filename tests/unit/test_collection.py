"""The daemon's garbage collection: survivors of a full collection frozen, so later walks
skip them; frozen cyclic garbage reclaimed by the periodic walk (cti/collection.py)."""

from __future__ import annotations

import asyncio
import gc
import weakref

from cti.collection import collect_in_short_walks, reclaim_frozen


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector reclaims it


def walked(node: Node) -> bool:
    """Whether a collection would visit it (frozen objects are in no generation)."""
    return any(found is node for found in gc.get_objects())


async def test_survivors_are_frozen_and_frozen_garbage_is_reclaimed_by_the_walk() -> None:
    task = asyncio.ensure_future(collect_in_short_walks(every_s=3600))
    await asyncio.sleep(0)  # the task installs its callback
    try:
        node = Node()
        gone = weakref.ref(node)
        gc.collect()
        assert gc.get_freeze_count() > 0 and not walked(node)  # frozen: later walks skip it
        del node
        gc.collect()
        assert gone() is not None  # frozen cyclic garbage waits for the periodic walk
        reclaim_frozen()
        assert gone() is None
        assert gc.get_freeze_count() > 0  # the survivors of that walk are frozen again
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert gc.get_freeze_count() == 0  # a stopped daemon leaves nothing frozen
    keeper = Node()
    gc.collect()
    assert walked(keeper)  # and no callback freezes anything any more
