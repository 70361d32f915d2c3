"""What the supervisors' wall reads besides the wallboard, on the live daemon: today's alerts
(raised while no page was open, newest first), the abandon-rate alert and the limits each
queue card carries, and the agents' display names."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
from harness import Daemon, running_daemon, signed_in


async def todays_alerts(boss: aiohttp.ClientSession) -> list[dict[str, Any]]:
    async with boss.get("/api/supervisor/alerts") as r:
        assert r.status == 200, await r.text()
        return (await r.json())["alerts"]  # type: ignore[no-any-return]


async def alerts_until(
    boss: aiohttp.ClientSession, count: int, timeout: float = 15
) -> list[dict[str, Any]]:
    """Today's alerts once there are ``count`` of them."""

    async def poll() -> list[dict[str, Any]]:
        while len(found := await todays_alerts(boss)) < count:
            await asyncio.sleep(0.1)
        return found

    return await asyncio.wait_for(poll(), timeout)


async def test_alerts_raised_with_no_page_open_are_listed_newest_first(
    database_url: str, tmp_path: Path
) -> None:
    async with running_daemon(database_url, tmp_path, center_max_wait_s=1) as daemon:
        boss, _ = await signed_in(daemon, "boss")
        agent, _ = await signed_in(daemon, "agent1")
        async with boss, agent:
            assert await todays_alerts(boss) == []
            linkedid = await daemon.sim.place_call(
                "905321112233", "Fatma Demir", "sales", answer_after=None
            )
            [raised] = await alerts_until(boss, 1)  # no page open: the daemon raised it alone
            assert (raised["queue"], raised["kind"], raised["raised"]) == (
                "sales",
                "long_wait",
                True,
            )
            assert "limit 1 s" in raised["text"]
            assert daemon.sim.answer(linkedid)
            cleared, raised_again = await alerts_until(boss, 2)
            assert raised_again == raised
            assert (cleared["queue"], cleared["kind"], cleared["raised"]) == (
                "sales",
                "long_wait",
                False,
            )
            assert cleared["at"] >= raised["at"]
            async with agent.get("/api/supervisor/alerts") as r:
                assert r.status == 403  # the center's alerts are the supervisors'


async def test_a_queue_whose_callers_hang_up_raises_an_abandon_alert(
    database_url: str, tmp_path: Path
) -> None:
    async with running_daemon(database_url, tmp_path, center_max_abandon_rate=0.25) as daemon:
        boss, _ = await signed_in(daemon, "boss")
        async with boss:
            await daemon.sim.place_call(
                "905321112233", "Fatma Demir", "sales", answer_after=0.05, talk_s=0.1
            )
            await daemon.sim.place_call(
                "905551112233", "Ali Veli", "sales", answer_after=None, patience_s=0.2
            )
            [raised] = await alerts_until(boss, 1)
            assert (raised["queue"], raised["kind"], raised["raised"]) == (
                "sales",
                "abandon_rate",
                True,
            )
            assert "limit 25%" in raised["text"]
            async with boss.get("/api/wallboard") as r:
                board = await r.json()
            sales = next(q for q in board["queues"] if q["queue"] == "sales")
            assert sales["windows"]["today"]["abandon_rate"] == 0.5
            assert [a["kind"] for a in sales["alerts"]] == ["abandon_rate"]
            assert (sales["abandon_limit"], sales["max_wait_s"], sales["target"]) == (0.25, 60, 0.8)


async def test_the_wall_names_agents_by_their_display_names(daemon: Daemon) -> None:
    boss, _ = await signed_in(daemon, "boss")
    async with boss, boss.get("/api/supervisor/agents") as r:
        assert r.status == 200
        people = await r.json()
    assert people == [  # by display name; the admin, who has no phone, is not on the wall
        {"username": "agent1", "name": "Ayla Demir", "interfaces": ["SIP/1001"]},
        {"username": "agent2", "name": "Burak Kaya", "interfaces": ["SIP/1002"]},
        {"username": "boss", "name": "Selin Aydın", "interfaces": ["SIP/1009"]},
    ]
