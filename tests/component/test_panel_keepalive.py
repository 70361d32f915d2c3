"""A page's websocket is kept alive by the daemon's unsolicited pongs, which the page does
not answer, and the connection of a page whose machine is gone is ended by the kernel:
what was sent to it stays unacknowledged for ``DEAD_PEER_S`` (TCP_USER_TIMEOUT)."""

from __future__ import annotations

import asyncio
import os
import socket

import aiohttp
import pytest
from harness import Daemon, signed_in

from cti.push import ws as panel_sockets


def servers_side(client_address: tuple[str, int]) -> socket.socket:
    """The daemon's socket (it runs in this process) whose peer is ``client_address``."""
    for name in os.listdir("/proc/self/fd"):
        try:
            copy = os.dup(int(name))
        except OSError:  # closed meanwhile (the listing's own fd)
            continue
        try:
            found = socket.socket(fileno=copy)
        except OSError:  # not a socket
            os.close(copy)
            continue
        try:
            if found.type == socket.SOCK_STREAM and found.getpeername() == client_address:
                return found
        except OSError:  # a listener, or not connected
            pass
        found.close()
    raise AssertionError(f"no socket of the daemon has the peer {client_address}")


async def test_a_page_gets_unsolicited_pongs_and_a_dead_peer_timeout(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(panel_sockets, "KEEPALIVE_S", 2)  # every page within 2 s
    agent, _ = await signed_in(daemon, "agent1")
    async with agent, agent.ws_connect("/ws", headers={"Origin": daemon.url}, autoping=False) as ws:
        seen: list[aiohttp.WSMsgType] = []

        async def until_two_pongs() -> None:
            while seen.count(aiohttp.WSMsgType.PONG) < 2:
                message = await ws.receive()
                assert message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.PONG)
                seen.append(message.type)

        await asyncio.wait_for(until_two_pongs(), 10)
        assert aiohttp.WSMsgType.TEXT in seen  # the snapshot, whichever came first
        with servers_side(ws.get_extra_info("sockname")) as server:
            timeout_ms = server.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)
        assert timeout_ms == panel_sockets.DEAD_PEER_S * 1000
        assert not ws.closed  # nothing was answered, and the page stays
