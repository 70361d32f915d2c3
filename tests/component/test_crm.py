"""The external CRM lookup: asked with the caller's E.164 number after the pop is sent, its
answer cleaned, and a slow or broken CRM reported without holding the pop back.

The CRM is someone else's system, so a small aiohttp server stands in for it here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from harness import Daemon, free_port, next_message, running_daemon, signed_in

KNOWN = "905321112233"
SLOW = "905551112233"
BROKEN = "4930123456"
HOSTILE = '<img src=x onerror="alert(1)">'


class FakeCrm:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []  # (phone query, Authorization header)

    async def lookup(self, request: web.Request) -> web.Response:
        phone = request.query.get("phone", "")
        self.asked.append((phone, request.headers.get("Authorization", "")))
        if phone == f"+{SLOW}":
            await asyncio.sleep(5)
        if phone == f"+{BROKEN}":
            return web.Response(status=500, text="CRM exploded")
        if phone != f"+{KNOWN}":
            return web.Response(status=404)
        return web.json_response(
            {
                "name": HOSTILE,
                "summary": "VIP since 2019",
                "url": "javascript:alert(1)",
                "fields": {"Segment": "Gold", "Open tickets": 2, "nested": {"x": 1}},
                "ignored": "not shown",
            }
        )


@pytest.fixture
async def crm_daemon(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Daemon, FakeCrm]]:
    crm = FakeCrm()
    app = web.Application()
    app.router.add_get("/lookup", crm.lookup)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with running_daemon(
            database_url,
            tmp_path,
            crm_url=f"http://127.0.0.1:{port}/lookup?phone={{number}}",
            crm_timeout_s=0.5,
            crm_token="crm-secret",
        ) as daemon:
            yield daemon, crm
    finally:
        await runner.cleanup()


async def pop_and_crm(
    daemon: Daemon, ws: Any, number: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    linkedid = await daemon.sim.place_call(
        number, "Caller", "support", consent="granted", answer_after=None
    )
    pop = await next_message(ws, "pop")
    crm = await next_message(ws, "pop_crm")
    assert pop["linkedid"] == crm["linkedid"] == linkedid
    await daemon.sim.hangup(linkedid)
    return pop, crm


async def test_the_crm_answer_follows_the_pop_cleaned(crm_daemon: tuple[Daemon, FakeCrm]) -> None:
    daemon, crm = crm_daemon
    agent, _ = await signed_in(daemon, "agent1")
    async with agent, agent.ws_connect("/ws", headers={"Origin": daemon.url}) as ws:
        await next_message(ws, "snapshot")
        _, known = await pop_and_crm(daemon, ws, KNOWN)
        assert known["crm"] == {
            "name": HOSTILE,  # kept as text; the panel renders it as text
            "summary": "VIP since 2019",
            "url": "",  # not http(s): dropped
            "fields": [["Segment", "Gold"], ["Open tickets", "2"], ["nested", ""]],
        }
        _, unknown = await pop_and_crm(daemon, ws, "74951234567")
        assert unknown["crm"] is None and "error" not in unknown
        _, slow = await pop_and_crm(daemon, ws, SLOW)
        assert slow["crm"] is None and "did not answer within 0.5 s" in slow["error"]
        assert slow["failure"] == {"kind": "timeout", "seconds": 0.5}  # the panel's words
        _, broken = await pop_and_crm(daemon, ws, BROKEN)
        assert broken["error"] == "the CRM answered HTTP 500"
        assert broken["failure"] == {"kind": "status", "status": 500}
    assert crm.asked[0] == (f"+{KNOWN}", "Bearer crm-secret")  # E.164, '+' URL-encoded


async def test_a_crm_url_without_the_number_is_refused(database_url: str, tmp_path: Path) -> None:
    from cti.settings import SettingsError

    with pytest.raises(SettingsError, match=r"\{number\}"):
        async with running_daemon(database_url, tmp_path, crm_url="http://crm/lookup"):
            pass
