"""A supervisor's page in real headless Chromium against the live daemon and the simulator:
the wallboard follows simulated calls, an agent is paused from the grid, a recorded call
is played from the call history, an agent's day is opened from the grid, and a sampled call
is scored and the review reaches the agent's home page."""

from __future__ import annotations

import asyncio
import re

from browsing import signed_in
from harness import Daemon, handled_call
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


async def test_a_recorded_call_plays_from_the_history(browser: Browser, daemon: Daemon) -> None:
    recorded = await daemon.sim.place_call(
        "905321112233", "Fatma Demir", "sales", consent="granted", answer_after=0.05, talk_s=0.2
    )
    declined = await daemon.sim.place_call(
        "905551112233", "Mehmet Öztürk", "sales", consent="declined", answer_after=0.05, talk_s=0.2
    )
    pool = await daemon.app[DATABASE].pool()
    while await pool.fetchval("SELECT count(*) FROM calls") < 2:
        await asyncio.sleep(0.05)
    page = await signed_in(browser, daemon, "boss", lands_on="/supervisor")
    await page.goto(f"{daemon.url}/history")
    await expect(page.locator("#history tbody tr")).to_have_count(2)
    declined_row = page.locator(f'#history tr[data-linkedid="{declined}"]')
    await expect(declined_row.locator("td.recording")).to_have_text("declined")
    audio = page.locator(f'#history tr[data-linkedid="{recorded}"] audio')
    duration = await audio.evaluate(
        """audio => new Promise((resolve, reject) => {
             audio.addEventListener("loadedmetadata", () => resolve(audio.duration));
             audio.addEventListener("error", () => reject(new Error("cannot load")));
             audio.load();
           })"""
    )
    assert abs(duration - 2.0) < 0.1  # the simulator's 2 s recording, fetched by call id

    await page.fill("input[name=number]", "0532 111 22 33")  # national format finds it too
    await page.click("button[type=submit]")
    await expect(page.locator("#history tbody tr")).to_have_count(1)


async def test_the_history_pages_forward_and_back(browser: Browser, daemon: Daemon) -> None:
    pool = await daemon.app[DATABASE].pool()
    await pool.execute(
        "INSERT INTO calls (linkedid, caller_number, caller_name, dialed, direction, queue,"
        " outcome, wait_s, talk_s, started_at) SELECT 'b.' || lpad(n::text, 3, '0'),"
        " '0532' || n, CASE WHEN n = 1 THEN $1 ELSE 'Arayan ' || n END, '4440', 'inbound',"
        " 'support', 'answered', 65, 3725, now() - n * interval '1 second'"
        " FROM generate_series(1, 130) AS n",
        HOSTILE,
    )
    page = await signed_in(browser, daemon, "boss", lands_on="/supervisor")
    await page.goto(f"{daemon.url}/history")
    rows = page.locator("#history tbody tr")
    await expect(page.locator("#total")).to_have_text("130 calls")
    await expect(rows).to_have_count(100)
    await expect(page.locator("#page")).to_have_text("page 1: calls 1–100")
    newest = rows.first
    await expect(newest).to_have_attribute("data-linkedid", "b.001")
    await expect(newest.locator("td").nth(1)).to_have_text(HOSTILE)  # as text
    await expect(newest.locator("td").nth(7)).to_have_text("1 min 05 s")
    await expect(newest.locator("td").nth(8)).to_have_text("1 h 02 min")
    assert await page.locator("#history img").count() == 0 and await page.title() != "owned"
    await expect(page.locator("#previous")).to_be_disabled()

    await page.click("#next")
    await expect(page.locator("#page")).to_have_text("page 2: calls 101–130")
    await expect(rows).to_have_count(30)
    await expect(rows.first).to_have_attribute("data-linkedid", "b.101")
    await expect(page.locator("#next")).to_be_disabled()
    await page.click("#previous")
    await expect(page.locator("#page")).to_have_text("page 1: calls 1–100")
    await expect(rows.first).to_have_attribute("data-linkedid", "b.001")
    await expect(page.locator("#previous")).to_be_disabled()

    await page.fill("input[name=number]", "0532 77")  # a new search starts at its first page
    await page.click("button[type=submit]")
    await expect(page.locator("#total")).to_have_text("1 call")
    await expect(rows).to_have_count(1)
    await expect(page.locator("#next")).to_be_disabled()


async def test_a_call_is_reviewed_and_the_agent_reads_the_review(
    browser: Browser, daemon: Daemon
) -> None:
    linkedid = await handled_call(daemon, "SIP/1001")
    boss = await signed_in(browser, daemon, "boss", lands_on="/supervisor")
    # The agent's day from the grid: the call shows there.
    await boss.locator('#agents tr[data-interface="SIP/1001"] button.link-button').click()
    await expect(boss.locator("#agent-day .day-calls tbody tr")).to_have_count(1)
    await expect(boss.locator("#agent-day .who")).to_contain_text("agent1")

    await boss.goto(f"{daemon.url}/quality")
    row = boss.locator(f'#sample tr[data-linkedid="{linkedid}"]')
    await expect(row.locator("td").nth(5)).to_have_text("not reviewed")
    await row.get_by_role("button", name="Review").click()
    await boss.locator("select[name='Courtesy and empathy']").select_option("2")
    await boss.fill("textarea[name=comment]", HOSTILE)
    await boss.get_by_role("button", name="Save review").click()
    await expect(boss.locator("#notice")).to_have_text("Saved: 88% for SIP/1001")
    await expect(row.locator("td").nth(5)).to_have_text("88%")
    await expect(boss.locator("#reviews tbody")).to_contain_text(HOSTILE)  # as text

    agent = await signed_in(browser, daemon, "agent1")
    await expect(agent.locator("ul.reviews li").first).to_contain_text("88%")
    await expect(agent.locator("ul.reviews li").first).to_contain_text(HOSTILE)
    assert await agent.locator("ul.reviews img").count() == 0 and await agent.title() != "owned"
