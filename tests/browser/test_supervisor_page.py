"""A supervisor's page in real headless Chromium against the live daemon and the simulator:
the wallboard follows simulated calls and an agent is paused from the grid. (The call
history and quality review pages: test_history_and_quality.py.)"""

from __future__ import annotations

import asyncio

from browsing import signed_in
from harness import Daemon
from playwright.async_api import Browser, expect

from cti.keys import DATABASE, STATE

HOSTILE = "<img src=x onerror=\"document.title='owned'\">"


async def test_wallboard_follows_calls_and_an_agent_is_paused(
    browser: Browser, daemon: Daemon
) -> None:
    page = await signed_in(browser, daemon, "boss", lands_on="/supervisor")
    linkedid = await daemon.sim.place_call(
        "15551234567", HOSTILE, "support", consent="granted", answer_after=None, talk_s=60
    )
    support = page.locator('.queue-card[data-queue="support"]')
    await expect(support.locator(".waiting")).to_have_text("1")
    await expect(page.locator("#calls tbody")).to_contain_text(HOSTILE)  # as text
    assert await page.locator("#calls img").count() == 0 and await page.title() != "owned"

    state = daemon.app[STATE]
    while "SIP/1001" not in state.calls[linkedid].ringing:
        await asyncio.sleep(0.02)
    assert daemon.sim.answer(linkedid, "SIP/1001")
    await expect(support.locator(".waiting")).to_have_text("0")
    today = support.locator(".windows tbody tr").first
    await expect(today.locator("td").nth(2)).to_have_text("1")  # answered since midnight
    await expect(support.locator(".chart rect.answered")).to_have_count(1)
    await daemon.sim.hangup(linkedid)

    row = page.locator('#agents tr[data-interface="SIP/1002"]')
    await row.locator("select").select_option("Lunch")
    await row.get_by_role("button", name="Pause").click()
    await expect(row.locator("td").nth(2)).to_have_text("paused (Lunch)")
    await expect(page.locator("#notice")).to_contain_text("Pause")
    pool = await daemon.app[DATABASE].pool()
    audit = await pool.fetch("SELECT action, target, detail, accepted FROM supervisor_actions")
    assert [tuple(a) for a in audit] == [("pause", "SIP/1002", "Lunch", True)]
