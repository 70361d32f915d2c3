"""The pipeline's consumer (``Pipeline.run``) sleeps while nothing is queued and wakes for
the next message or event of ours, which it handles in arrival order; it can be cancelled
while it waits and started again; a second consumer is refused. No timing: the loop is
turned until what is expected happened, a bounded number of times."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import pytest

from cti.ami.events import LinkDown, LinkUp
from cti.pipeline import Pipeline
from cti.state.store import CtiState

HANGUP = {
    "Event": "Hangup",
    "Timestamp": "1700000000.5",
    "Channel": "PJSIP/1001-00000001",
    "Uniqueid": "1700000000.1",
    "Linkedid": "1700000000.1",
    "Cause": "16",
    "Cause-txt": "Normal Clearing",
}


async def turn_until(done: Callable[[], bool]) -> None:
    for _ in range(100):
        if done():
            return
        await asyncio.sleep(0)
    raise AssertionError("not done after 100 turns of the loop")


async def test_run_sleeps_when_idle_and_handles_what_comes_next_in_order() -> None:
    pipeline = Pipeline(CtiState())
    running = asyncio.ensure_future(pipeline.run())
    try:
        await turn_until(lambda: pipeline._idle is not None)  # waiting: nothing queued
        pipeline.submit_event(LinkUp(ts=1.0))
        pipeline.submit_message(HANGUP, 2.0)
        pipeline.submit_message({"Event": "VarSet"}, 3.0)  # not used: handled, no event
        pipeline.submit_event(LinkDown(ts=4.0, reason="cut"))
        await turn_until(lambda: pipeline.depth == 0 and pipeline.stats.events == 3)
        assert pipeline.stats.messages == 2
        assert pipeline.state.link_up is False  # LinkDown came last
        pipeline.submit_event(LinkUp(ts=5.0))  # asleep again, woken again
        await turn_until(lambda: pipeline.state.link_up)
        assert pipeline.stats.events == 4
        assert not running.done()
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def test_run_cancelled_while_idle_can_start_again() -> None:
    pipeline = Pipeline(CtiState())
    first = asyncio.ensure_future(pipeline.run())
    await turn_until(lambda: pipeline._idle is not None)
    first.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await first
    pipeline.submit_event(LinkUp(ts=1.0))  # nobody waits for it now: it is queued
    assert pipeline.depth == 1
    second = asyncio.ensure_future(pipeline.run())
    try:
        await turn_until(lambda: pipeline.state.link_up and pipeline.depth == 0)
    finally:
        second.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await second


async def test_a_second_consumer_is_refused() -> None:
    pipeline = Pipeline(CtiState())
    first = asyncio.ensure_future(pipeline.run())
    try:
        await turn_until(lambda: pipeline._idle is not None)
        with pytest.raises(RuntimeError, match="one consumer"):
            await pipeline.run()
    finally:
        first.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await first
