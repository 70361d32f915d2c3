"""A backlog in the pipeline (a resync, a burst after a stall) must not drop a panel: the
pipeline lets the event loop turn while it drains, so what it writes to a page leaves the
page's transport for the kernel, and on to the page, instead of piling up unsent."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket

import pytest

from cti.ami.events import LinkDown, LinkUp
from cti.auth.users import User
from cti.pipeline import YIELD_EVERY, Pipeline
from cti.push import hub as hub_module
from cti.push.frames import text_frame
from cti.push.hub import Hub
from cti.push.messages import LinkMessage
from cti.state.store import CtiState
from cti.tasks import Tasks

UNSENT_LIMIT = 16 * 1024  # small, so that a burst of link messages is many times it
BUFFER = 4096  # the kernel's buffers on both ends, small for the same reason


async def test_a_burst_many_times_what_a_page_may_hold_unsent_drops_no_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hub_module, "UNSENT_LIMIT", UNSENT_LIMIT)
    loop = asyncio.get_running_loop()
    daemons_end, pages_end = socket.socketpair()
    daemons_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, BUFFER)
    pages_end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BUFFER)
    transport, _ = await loop.create_connection(asyncio.Protocol, sock=daemons_end)
    page, _ = await asyncio.open_connection(sock=pages_end)

    state = CtiState()
    hub = Hub(state, Tasks())
    pipeline = Pipeline(state, [hub])
    supervisor = User(id=1, username="s", display_name="S", role="supervisor", interfaces=())
    client = hub.join(supervisor, page=transport)
    burst = (
        20 * UNSENT_LIMIT // len(text_frame(json.dumps(LinkMessage(up=True, reason="").to_json())))
    )
    for i in range(burst):  # all queued before the pipeline runs: a backlog
        pipeline.submit_event(LinkUp(ts=float(i)) if i % 2 else LinkDown(ts=float(i), reason="x"))
    read = 0
    link = b'{"type": "link"'

    async def reads() -> None:  # the page, reading as fast as the loop lets it
        nonlocal read
        tail = b""  # a message may be split between two reads
        while chunk := await page.read(65536):
            seen = tail + chunk
            read += seen.count(link)
            tail = seen[-(len(link) - 1) :]  # too short to hold a whole one: none counted twice

    reading = asyncio.ensure_future(reads())
    running = asyncio.ensure_future(pipeline.run())
    try:
        while pipeline.depth or transport.get_write_buffer_size() or read < burst:
            assert client in hub.clients, "the page was dropped as too slow"
            await asyncio.sleep(0)
    finally:
        for task in (running, reading):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        transport.close()
    assert read == burst
    assert YIELD_EVERY * 40 < UNSENT_LIMIT  # a turn's writes are a fraction of the limit
