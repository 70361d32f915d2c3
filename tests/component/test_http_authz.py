"""Authorization on every route of the live daemon: each route declares a role, anonymous
and under-privileged users are refused, changes need the CSRF token and the same origin, and
an agent's websocket carries only that agent's pops."""

from __future__ import annotations

import asyncio
import re

import aiohttp
from harness import Daemon, next_message, signed_in

from cti.http.security import ROLE_ATTRIBUTE

RANK = {"public": 0, "agent": 1, "supervisor": 2, "admin": 3}
EXAMPLE = {"linkedid": "1795343720.0", "name": "app.css", "customer_id": "1"}


def routes(daemon: Daemon) -> list[tuple[str, str, str]]:
    """(method, concrete path, role) for every route the daemon serves."""
    found = []
    for resource in daemon.app.router.resources():
        info = resource.get_info()
        template = info.get("path") or info.get("formatter", "")
        path = re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: EXAMPLE.get(m.group(1), "1"), template)
        for route in resource:
            if route.method == "HEAD":
                continue
            role = getattr(route.handler, ROLE_ATTRIBUTE, None)
            assert role in RANK, f"{route.method} {template} declares no role"
            found.append((route.method, path, role))
    return found


async def test_every_route_refuses_who_may_not_use_it(daemon: Daemon) -> None:
    table = routes(daemon)
    assert len(table) >= 12
    anonymous = aiohttp.ClientSession(daemon.url)
    agent, agent_csrf = await signed_in(daemon, "agent1")
    try:
        for method, path, role in table:
            if role == "public" or path == "/ws":
                continue
            async with anonymous.request(method, path, allow_redirects=False) as r:
                assert r.status in (401, 303), (method, path, r.status)
            if RANK[role] > RANK["agent"]:
                headers = {"X-CSRF-Token": agent_csrf, "Origin": daemon.url}
                async with agent.request(method, path, headers=headers, json={}) as r:
                    assert r.status == 403, (method, path, r.status)
            if method == "POST" and RANK[role] <= RANK["agent"]:
                async with agent.post(path, json={}) as r:  # no CSRF token
                    assert r.status == 403, (method, path, r.status)
                    assert "CSRF" in await r.text()
                headers = {"X-CSRF-Token": agent_csrf, "Origin": "https://evil.example"}
                async with agent.post(path, json={}, headers=headers) as r:
                    assert r.status == 403, (method, path, r.status)
    finally:
        await anonymous.close()
        await agent.close()


async def test_wrong_password_and_bad_requests_get_clear_errors(daemon: Daemon) -> None:
    async with aiohttp.ClientSession(daemon.url) as session:
        async with session.post("/api/login", json={"username": "agent1", "password": "nope"}) as r:
            assert r.status == 401
        async with session.post(
            "/api/login", data=b"{not json", headers={"Content-Type": "application/json"}
        ) as r:
            assert r.status == 400
    agent, csrf = await signed_in(daemon, "agent1")
    try:
        headers = {"X-CSRF-Token": csrf, "Origin": daemon.url}
        async with agent.post("/api/agent/state", data=b"[1,2", headers=headers) as r:
            assert r.status == 400 and "JSON" in await r.text()
        async with agent.post(
            "/api/agent/state", json={"paused": True, "reason": "Nap"}, headers=headers
        ) as r:
            assert r.status == 400 and "reason" in await r.text()
        # A call that is not this agent's: no muting someone else's recording.
        async with agent.post(
            "/api/calls/1795343720.0/recording", json={"muted": True}, headers=headers
        ) as r:
            assert r.status in (403, 404)
    finally:
        await agent.close()


async def test_an_agent_receives_only_its_own_pops(daemon: Daemon) -> None:
    agent, _ = await signed_in(daemon, "agent1")
    try:
        async with agent.ws_connect("/ws", headers={"Origin": daemon.url}) as ws:
            await next_message(ws, "snapshot")
            other = await daemon.sim.place_call(
                "905301110003", "Elif Koç", "sales", answer_after=None
            )
            mine = await daemon.sim.place_call(
                "905301110001", "Zeynep Arslan", "support", consent="granted", answer_after=None
            )
            pop = await next_message(ws, "pop")
            assert pop["linkedid"] == mine != other  # sales rings SIP/1003: not agent1's
            assert pop["caller_name"] == "Zeynep Arslan"
        async with agent.ws_connect("/ws", headers={"Origin": "https://evil.example"}) as ws:
            message = await ws.receive()
            assert message.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            )
    except aiohttp.WSServerHandshakeError as refused:
        assert refused.status == 403
    finally:
        await agent.close()


async def test_an_agent_mutes_and_unmutes_the_recording_of_their_call(daemon: Daemon) -> None:
    from cti.keys import DATABASE, STATE

    agent, csrf = await signed_in(daemon, "agent1")
    other, other_csrf = await signed_in(daemon, "agent2")
    headers = {"X-CSRF-Token": csrf, "Origin": daemon.url}
    recorded = await daemon.sim.place_call(
        "905301110001", "Zeynep Arslan", "support", consent="granted", answer_after=None, talk_s=60
    )
    declined = await daemon.sim.place_call(
        "905301110002", "Emre Şahin", "support", consent="declined", answer_after=None, talk_s=60
    )
    state = daemon.app[STATE]
    try:
        for linkedid, phone in ((recorded, "SIP/1001"), (declined, "SIP/1002")):
            while linkedid not in state.calls or phone not in state.calls[linkedid].ringing:
                await asyncio.sleep(0.02)
            assert daemon.sim.answer(linkedid, phone)
            while state.calls[linkedid].agent != phone:
                await asyncio.sleep(0.02)
        for muted in (True, False):
            async with agent.post(
                f"/api/calls/{recorded}/recording", json={"muted": muted}, headers=headers
            ) as r:
                assert r.status == 200, await r.text()
        async with other.post(
            f"/api/calls/{declined}/recording",
            json={"muted": True},
            headers={"X-CSRF-Token": other_csrf, "Origin": daemon.url},
        ) as r:
            assert r.status == 409 and "not being recorded" in await r.text()
        pool = await daemon.app[DATABASE].pool()
        rows = await pool.fetch("SELECT linkedid, muted, by_user FROM recording_mutes ORDER BY id")
        assert [tuple(r) for r in rows] == [(recorded, True, "agent1"), (recorded, False, "agent1")]
    finally:
        await agent.close()
        await other.close()
