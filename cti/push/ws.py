"""One websocket per browser tab: a snapshot first, then the changes meant for its user.

The hub writes the changes through the socket's ``send_str`` (``Hub._write_out``); when the
socket closes, the handler cancels and awaits the write under way. Messages from the browser
are only keep-alives; commands go through the HTTP API, where CSRF protection applies.

A socket lives no longer than its session. Signing out or disabling a user through this
daemon closes the sockets at once (``close_sockets``); for a change made elsewhere (the CLI,
SQL, session expiry) one task asks the database every ``REVALIDATE_S`` which of the open
sockets' sessions are still valid, one query for all of them, and closes the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Container

import asyncpg
from aiohttp import WSMsgType, web

from cti.database import DatabaseUnavailable
from cti.http.security import route, session_of
from cti.keys import HUB, SESSIONS, TASKS

log = logging.getLogger(__name__)

REVALIDATE_S = 1.0
HEARTBEAT_MIN_S, HEARTBEAT_MAX_S = 15.0, 25.0  # aiohttp closes a silent page 1.5 intervals on
# Application close code (4000-4999 are ours): the page should sign in again, not reconnect.
SIGNED_OUT = 4401


async def websocket(request: web.Request) -> web.WebSocketResponse:
    session = session_of(request)
    user = session.user
    hub = request.app[HUB]
    # No per-message compression, though browsers ask for it: each page's messages would
    # be deflated for that page alone (its own zlib context), so a message to 2,000 pages
    # was compressed 2,000 times: 8.9 us a send against 3.4 us without. The messages are a
    # few hundred bytes of JSON on the call center's LAN; only a snapshot is larger.
    # A ping every 15-25 s, each page its own: pages that connect together (every browser
    # after a daemon restart) would otherwise ping together every 20 s for good, and the
    # 2,000 pongs' re-made waits, with the collection they bring, held the loop up to 50-60
    # ms at once; spread, up to 24-28 ms (bench/README.md, many panels, runs in turn).
    heartbeat = random.uniform(HEARTBEAT_MIN_S, HEARTBEAT_MAX_S)
    ws = web.WebSocketResponse(heartbeat=heartbeat, max_msg_size=4096, compress=False)
    await ws.prepare(request)
    client = hub.join(user, session.key, send=ws.send_str)
    try:
        snapshot = await hub.snapshot_for(user)
        await ws.send_json(snapshot.to_json())
        hub.look_up_again(snapshot.pops)  # a reloaded page gets its calls' customers back
        # Until the page goes, or the hub lets it go (signed out, too slow, a failed write).
        closed = asyncio.create_task(client.closed.wait())
        reader = asyncio.create_task(_drain(ws))
        await asyncio.wait({closed, reader}, return_when=asyncio.FIRST_COMPLETED)
        for task in (closed, reader):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        hub.leave(client)
        await client.stop_writing()
        if client.signed_out:
            await ws.close(code=SIGNED_OUT, message=b"signed out: sign in again")
        else:
            await ws.close()
    return ws


async def _drain(ws: web.WebSocketResponse) -> None:
    async for message in ws:
        if message.type == WSMsgType.ERROR:
            return


def close_sockets(
    app: web.Application, sessions: Container[str] = frozenset(), user_id: int | None = None
) -> int:
    """Close, now, the open sockets of these sessions or of this user; returns how many."""
    hub = app[HUB]
    ended = [
        client
        for client in hub.clients
        if client.session_key in sessions or client.user.id == user_id
    ]
    for client in ended:
        client.signed_out = True
        hub.leave(client)  # sets client.closed: its handler closes the socket
    return len(ended)


async def _revalidate(app: web.Application) -> None:
    while True:
        await asyncio.sleep(REVALIDATE_S)
        keys = {client.session_key for client in app[HUB].clients}
        if not keys:
            continue
        try:
            ended = await app[SESSIONS].ended(keys)
        except (DatabaseUnavailable, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # Keep the sockets through an outage: requests are refused meanwhile (503), and
            # the first answer after it closes whatever ended during it.
            log.warning("cannot recheck the panel sessions (%s); retrying", exc)
            continue
        closed = close_sockets(app, sessions=ended)  # a socket opened meanwhile is not judged
        if closed:
            log.info("closed %d panel websocket(s) whose session ended", closed)


async def _revalidate_ctx(app: web.Application) -> AsyncIterator[None]:
    app[TASKS].start("panel session check", _revalidate(app))
    yield
    await app[TASKS].stop("panel session check")


async def _close_all(app: web.Application) -> None:
    """At shutdown, end every panel connection now: the browsers reconnect to the next
    daemon, and aiohttp does not wait its shutdown timeout for sockets that never close."""
    await app[HUB].close()


def add_routes(app: web.Application) -> None:
    app.router.add_get("/ws", route("agent", websocket))
    app.on_shutdown.append(_close_all)
    # Appended after create_app's own contexts: it starts once the database is there and
    # stops before it goes.
    app.cleanup_ctx.append(_revalidate_ctx)
