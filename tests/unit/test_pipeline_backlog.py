"""A backlog in the pipeline (a resync, a burst after a stall) must not starve the panels:
the pipeline lets the event loop turn while it drains, so the websocket writers keep up and
no page is dropped as too slow."""

from __future__ import annotations

import asyncio
import contextlib

from cti.ami.events import LinkDown, LinkUp
from cti.auth.users import User
from cti.pipeline import YIELD_EVERY, Pipeline
from cti.push.hub import OUTBOX_SIZE, Hub
from cti.state.store import CtiState
from cti.tasks import Tasks

BURST = 10 * OUTBOX_SIZE  # link messages, each one for every page


async def test_a_burst_ten_times_an_outbox_drops_no_page() -> None:
    state = CtiState()
    hub = Hub(state, Tasks())
    pipeline = Pipeline(state, [hub])
    written: list[str] = []

    async def send(text: str) -> None:  # a live socket with room in its buffer
        written.append(text)

    supervisor = User(id=1, username="s", display_name="S", role="supervisor", interfaces=())
    client = hub.join(supervisor, send=send)
    for i in range(BURST):  # all queued before the pipeline runs: a backlog
        pipeline.submit_event(LinkUp(ts=float(i)) if i % 2 else LinkDown(ts=float(i), reason="x"))
    running = asyncio.ensure_future(pipeline.run())
    try:
        while pipeline.depth or client.outbox or client.writing:
            await asyncio.sleep(0)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await client.stop_writing()
    assert client in hub.clients, "the page was dropped as too slow"
    assert len(written) == BURST
    assert YIELD_EVERY < OUTBOX_SIZE
