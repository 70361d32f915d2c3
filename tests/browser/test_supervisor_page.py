"""A supervisor's page in real headless Chromium against the live daemon and the simulator:
the wallboard follows simulated calls and an agent is paused from the grid. (The wall's
fit, alerts and wall mode: test_wall.py; the call history and quality review pages:
test_history_and_quality.py.)"""

from __future__ import annotations

import asyncio
import re

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
    waiting = support.locator("[data-figure=waiting] .value")
    await expect(waiting).to_have_text("1")
    call_row = page.locator(f'#calls tr[data-linkedid="{linkedid}"]')
    await expect(call_row.locator("td.caller")).to_have_text(HOSTILE)  # as text
    await expect(call_row).to_contain_text("Waiting 0:")

    state = daemon.app[STATE]
    while "SIP/1001" not in state.calls[linkedid].ringing:
        await asyncio.sleep(0.02)
    assert daemon.sim.answer(linkedid, "SIP/1001")
    await expect(waiting).to_have_text("0")
    answered = support.locator("table.windows tr[data-row=answered] td")
    await expect(answered.first).to_have_text("1")  # since midnight
    await expect(support.locator(".day-chart rect.answered")).to_have_count(1)
    # The agent who took it: by the user's display name, the phone as a detail, the state in
    # words with its timer, the caller, and the actions on a call.
    ayla = page.locator('#agents tr[data-interface="SIP/1001"]')
    await expect(ayla.locator(".agent-name button")).to_have_text("Ayla Demir")
    await expect(ayla.locator(".agent-name .interface")).to_have_text("SIP/1001")
    await expect(ayla.locator("td.state")).to_have_text("On call")
    await expect(ayla.locator("td.caller")).to_have_text(HOSTILE)
    await expect(ayla.locator("td.since")).to_have_text(re.compile(r"^0:0[1-9]$"))  # ticking
    for action in ("Listen", "Whisper", "Barge"):
        await expect(ayla.get_by_role("button", name=action)).to_be_visible()
    await expect(call_row).to_contain_text("Ayla Demir")
    await expect(call_row).to_contain_text("Talking 0:")
    assert await page.locator("img, script:not([src])").count() == 0
    assert await page.title() != "owned"
    await daemon.sim.hangup(linkedid)
    await expect(call_row).to_have_count(0)
    await expect(page.locator("#calls")).to_have_count(0)  # "No call right now."
    await expect(ayla.locator("td.taken")).to_have_text("1")
    # The agent's day, opened from the grid: the call just taken counts.
    await ayla.locator(".agent-name button").click()
    day = page.locator("#agent-day")
    await expect(day.locator("h2")).to_contain_text("Ayla Demir")
    await expect(day.locator(".day-figures dd").first).to_have_text("1")
    await day.get_by_role("button").first.click()
    await expect(day).to_have_count(0)

    row = page.locator('#agents tr[data-interface="SIP/1002"]')
    await expect(row.locator(".agent-name button")).to_have_text("Burak Kaya")
    await expect(row.get_by_role("button", name="Listen")).to_have_count(0)  # not on a call
    await row.get_by_label("Pause reason for Burak Kaya").select_option("Lunch")
    await row.get_by_role("button", name="Pause").click()
    await expect(row.locator("td.state")).to_have_text("Paused (Lunch)")
    await expect(page.locator("#notice")).to_have_text("Pause: Burak Kaya, done.")
    pool = await daemon.app[DATABASE].pool()
    audit = await pool.fetch("SELECT action, target, detail, accepted FROM supervisor_actions")
    assert [tuple(a) for a in audit] == [("pause", "SIP/1002", "Lunch", True)]
    await row.get_by_role("button", name="Ready").click()
    await expect(row.locator("td.state")).to_have_text("Ready")
