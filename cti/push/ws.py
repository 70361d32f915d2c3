"""One websocket per browser tab: a snapshot first, then the changes meant for its user.

The hub writes the changes to the socket's transport (``Hub._write``), framed once for all
the pages a change goes to; when the socket closes, the handler leaves the hub. The browser
sends nothing (commands go through the HTTP API, where CSRF protection applies); the daemon
keeps each page alive with an unsolicited pong now and then (``_keep_alive``), and the
kernel tells it of a page that is gone (``_end_when_unacknowledged``).

A socket lives no longer than its session. Signing out or disabling a user through this
daemon closes the sockets at once (``close_sockets``); for a change made elsewhere (the CLI,
SQL, session expiry) one task asks the database every ``REVALIDATE_S`` which of the open
sockets' sessions are still valid, one query for all of them, and closes the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
from collections.abc import AsyncIterator, Container

import asyncpg
from aiohttp import WSMsgType, web

from cti.database import DatabaseUnavailable
from cti.http.security import route, session_of
from cti.keys import HUB, SESSIONS, TASKS
from cti.push.hub import Hub

log = logging.getLogger(__name__)

REVALIDATE_S = 1.0
# Each page gets an unsolicited pong this often (a share of the pages each second), and the
# kernel ends the connection of a page that has not acknowledged what was sent within
# DEAD_PEER_S (TCP_USER_TIMEOUT): a vanished page goes within 30-50 s.
KEEPALIVE_S = 20
DEAD_PEER_S = 30.0
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
    # No heartbeat of aiohttp's (a ping each interval, a pong awaited): each pong read made
    # the page's reader wait anew, and those waits and the heartbeat's timers, living one
    # interval, were most of what the young collections walked at 2,000 pages (3-11 ms each,
    # a full one of 15-28 ms about every 80 s; bench/README.md, many panels). The pages are
    # kept alive by ``_keep_alive`` instead, which the browser does not answer (RFC 6455
    # 5.5.3), and a page that is gone is found by the kernel, timing out what was sent to it.
    ws = web.WebSocketResponse(max_msg_size=4096, compress=False)
    await ws.prepare(request)
    _end_when_unacknowledged(request)
    client = hub.join(user, session.key, page=request.transport)
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
        if client.signed_out:
            await ws.close(code=SIGNED_OUT, message=b"signed out: sign in again")
        else:
            await ws.close()
    return ws


def _end_when_unacknowledged(request: web.Request) -> None:
    """TCP_USER_TIMEOUT on the page's connection (Linux): what is sent to a page whose
    machine is gone (powered off, off the network) stays unacknowledged, and the kernel ends
    the connection after DEAD_PEER_S; the handler then ends as for a closed page."""
    sock = request.transport.get_extra_info("socket") if request.transport else None
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError, AttributeError):  # AttributeError: not Linux
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(DEAD_PEER_S * 1000))


async def _keep_alive(hub: Hub) -> None:
    """Every page an unsolicited pong each KEEPALIVE_S, a KEEPALIVE_S-th of them each second:
    a proxy between (idle timeouts of about a minute are common) keeps the connection, and
    the kernel has something to time out on a page that is gone. A page that misses a turn
    (pages came and went meanwhile) gets the next."""
    for tick in itertools.count():
        await asyncio.sleep(1.0)
        turn = tick % KEEPALIVE_S
        await hub.keep_alive(
            [client for n, client in enumerate(hub.clients) if n % KEEPALIVE_S == turn]
        )


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
    app[TASKS].start("panel keepalive", _keep_alive(app[HUB]))
    yield
    await app[TASKS].stop("panel session check", "panel keepalive")


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
