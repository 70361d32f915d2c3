"""The hub writes each message to the pages' sockets as a websocket frame it built itself
(cti/push/frames.py), once for all the pages: a real client (aiohttp's reader, as strict
as a browser's) must read every size of it, at each of the length encodings' edges, and
the pongs that keep a page alive."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from harness import Daemon, signed_in

from cti.keys import HUB
from cti.push.messages import QueueWaitsMessage

# The payload's three length encodings: 7 bits (< 126), 16 bits (< 65,536), 64 bits.
SIZES = (1, 125, 126, 65_535, 65_536, 300_000)


def waits_of_size(size: int) -> QueueWaitsMessage:
    """A queues' waits message whose JSON is ``size`` bytes long, or as near as it can be."""
    empty = len(json.dumps(QueueWaitsMessage(waits=[("", 0, None)]).to_json()))
    return QueueWaitsMessage(waits=[("q" * max(0, size - empty), 0, None)])


async def test_a_page_reads_the_hubs_frames_of_every_length(daemon: Daemon) -> None:
    agent, _ = await signed_in(daemon, "agent1")
    hub = daemon.app[HUB]
    async with agent, agent.ws_connect("/ws", headers={"Origin": daemon.url}) as ws:
        snapshot = await asyncio.wait_for(ws.receive_json(), 10)
        assert snapshot["type"] == "snapshot"
        sent = [waits_of_size(size) for size in SIZES]
        for message in sent:
            await hub.to_everyone(message)
        await hub.keep_alive(list(hub.clients))  # a pong, between two messages
        await hub.to_everyone(sent[0])
        got = []
        while len(got) < len(sent) + 1:
            message = await asyncio.wait_for(ws.receive(), 10)
            assert message.type is aiohttp.WSMsgType.TEXT, message  # pongs are not shown
            got.append(message.data)
        expected = [json.dumps(m.to_json()) for m in [*sent, sent[0]]]
        assert got == expected
        assert [len(text) for text in got[1:-1]] == list(SIZES[1:])
        assert not ws.closed
