"""One websocket per browser tab: a snapshot first, then the changes meant for its user.

The handler owns one writer task for its connection (created here, cancelled and awaited when
the socket closes). Messages from the browser are only keep-alives; commands go through the
HTTP API, where CSRF protection applies.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from aiohttp import WSMsgType, web

from cti.http.security import route, session_of
from cti.keys import HUB
from cti.push.hub import Client, Hub


async def _write(ws: web.WebSocketResponse, hub: Hub, client: Client) -> None:
    while not ws.closed:
        message, started = await client.outbox.get()
        await ws.send_json(message)
        if started is not None and hub.on_pop_written is not None:
            hub.on_pop_written(time.monotonic() - started)


async def websocket(request: web.Request) -> web.WebSocketResponse:
    user = session_of(request).user
    hub = request.app[HUB]
    ws = web.WebSocketResponse(heartbeat=20, max_msg_size=4096)
    await ws.prepare(request)
    client = hub.join(user)
    writer = asyncio.create_task(_write(ws, hub, client))
    try:
        await ws.send_json(hub.snapshot_for(user))
        closed = asyncio.create_task(client.closed.wait())
        reader = asyncio.create_task(_drain(ws))
        await asyncio.wait({writer, closed, reader}, return_when=asyncio.FIRST_COMPLETED)
        for task in (closed, reader):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        hub.leave(client)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await writer
        await ws.close()
    return ws


async def _drain(ws: web.WebSocketResponse) -> None:
    async for message in ws:
        if message.type == WSMsgType.ERROR:
            return


async def _close_all(app: web.Application) -> None:
    """At shutdown, end every panel connection now: the browsers reconnect to the next
    daemon, and aiohttp does not wait its shutdown timeout for sockets that never close."""
    await app[HUB].close()


def add_routes(app: web.Application) -> None:
    app.router.add_get("/ws", route("agent", websocket))
    app.on_shutdown.append(_close_all)
