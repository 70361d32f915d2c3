"""Listen, whisper and barge through the HTTP API on the live daemon: the request returns as
soon as Asterisk has queued the call to the supervisor's phone (the simulator answers an
async Originate as Asterisk does: Response first, OriginateResponse when the phone answers),
the answered leg runs ChanSpy from the dialplan's [cti-spy-<mode>], and every attempt,
accepted or refused, is audited."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from harness import live_sim_config, running_daemon, signed_in

from cti.ami.actions import SPY_MODES
from cti.keys import STATE


async def test_spy_returns_before_the_supervisor_answers_and_every_attempt_is_audited(
    database_url: str, tmp_path: Path
) -> None:
    # The supervisor's phone (SIP/1009) rings until the test answers it.
    config = replace(live_sim_config(), originate_answer_s=None)
    async with running_daemon(database_url, tmp_path, sim_config=config) as daemon:
        sim = daemon.sim
        boss, csrf = await signed_in(daemon, "boss")
        headers = {"X-CSRF-Token": csrf, "Origin": daemon.url}
        async with boss:
            while "SIP/1001" not in daemon.app[STATE].agents:
                await asyncio.sleep(0.05)
            for mode in SPY_MODES:
                async with boss.post(
                    "/api/supervisor/spy",
                    headers=headers,
                    json={"interface": "SIP/1001", "mode": mode},
                ) as r:
                    assert r.status == 200, await r.text()
                    assert await r.json() == {
                        "interface": "SIP/1001",
                        "mode": mode,
                        "phone": "SIP/1009",
                    }
                (leg,) = [
                    c
                    for c in sim.pbx.channels.values()
                    if c.name.startswith("SIP/1009-") and c.state == 5
                ]
                assert (leg.context, leg.exten) == (f"cti-spy-{mode}", "1001")  # still ringing
                assert sim.answer_originated("SIP/1009")
                while leg.application != "ChanSpy":
                    await asyncio.sleep(0.02)
                assert leg.app_data.startswith("PJSIP/1001-,")
            await sim.go_offline()  # Asterisk away: refused, and audited as refused
            async with boss.post(
                "/api/supervisor/spy",
                headers=headers,
                json={"interface": "SIP/1001", "mode": "barge"},
            ) as r:
                assert r.status == 502
                assert "Asterisk refused to barge SIP/1001" in await r.text()
            async with boss.get("/api/supervisor/audit") as r:
                audit = await r.json()
    assert [
        (a["username"], a["action"], a["target"], a["detail"], a["accepted"])
        for a in reversed(audit)
    ] == [
        ("boss", "listen", "SIP/1001", "SIP/1009", True),
        ("boss", "whisper", "SIP/1001", "SIP/1009", True),
        ("boss", "barge", "SIP/1001", "SIP/1009", True),
        ("boss", "barge", "SIP/1001", "SIP/1009", False),
    ]
    assert audit[0]["error"]
