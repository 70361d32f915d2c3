"""The supervisor's call history and quality review pages in real headless Chromium against
the live daemon and the simulator, in Turkish and English, at 1366x768 and 1920x1080: the
history pages forward and back with its total, filters by an agent's name, says why a
search is refused (a reversed period) beside the form, plays a recording where there is one
and says why one cannot play; a sampled call is reviewed under a title that names the
agent, the caller and the time, an untouched form is not sent, and the agent reads the
review. Caller names and comments are attacker-controlled: they show as text."""

from __future__ import annotations

import asyncio
import re

import pytest
from browsing import serious_accessibility_violations, sideways_overflow, signed_in, supervisor_on
from harness import Daemon, handled_call
from playwright.async_api import Browser, Page, Request, expect

from cti.keys import DATABASE

HOSTILE = "<img src=x onerror=\"document.title='owned'\">"
# A date and time as the English pages write them: "30 Nov 2026, 10:02".
DATE_TIME = r"\d{1,2} \w{3,4} \d{4}, \d{2}:\d{2}"


async def owned(page: Page) -> bool:
    """Whether markup from a caller name or comment ran (it must show as text)."""
    return await page.locator("main img").count() > 0 or await page.title() == "owned"


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
    # A call whose recording the dialplan named but which never reached the folder.
    await pool.execute(
        "INSERT INTO calls (linkedid, caller_number, caller_name, dialed, direction, queue,"
        " agent, outcome, talk_s, consent, recording, started_at) VALUES ('7.1', '05329990000',"
        " 'Kayıp Kayıt', '4441', 'inbound', 'sales', 'SIP/1001', 'answered', 30, 'granted',"
        " 'gone.wav', now() - interval '1 hour')"
    )
    page = await supervisor_on(browser, daemon, "/history")
    rows = page.locator("#history tbody tr")
    await expect(rows).to_have_count(3)

    # No player where there is no recording: the reason instead.
    declined_row = page.locator(f'#history tr[data-linkedid="{declined}"]')
    await expect(declined_row.locator("td.recording")).to_have_text("Not recorded: caller declined")
    assert await declined_row.locator("td.recording button, td.recording audio").count() == 0

    row = page.locator(f'#history tr[data-linkedid="{recorded}"]')
    await expect(page.locator("#history audio")).to_have_count(0)  # players open on demand
    await row.get_by_role("button", name="Play the recording of the call from Fatma Demir").click()
    audio = page.locator(f'tr[data-player="{recorded}"] audio')
    duration = await audio.evaluate(
        """audio => new Promise((resolve, reject) => {
             if (audio.readyState >= 1) resolve(audio.duration);
             audio.addEventListener("loadedmetadata", () => resolve(audio.duration));
             audio.addEventListener("error", () => reject(new Error("cannot load")));
           })"""
    )
    assert abs(duration - 2.0) < 0.1  # the simulator's 2 s recording, fetched by call id

    # A recording that cannot play says why, in the server's words.
    gone = page.locator('#history tr[data-linkedid="7.1"]')
    await gone.get_by_role("button", name=re.compile("^Play")).click()
    await expect(page.locator('tr[data-player="7.1"] [role=alert]')).to_have_text(
        "This recording cannot be played: recording gone.wav is not in the recordings folder (yet)"
    )

    # The review link opens the call on the quality page, named by who talked and when.
    await row.get_by_role("link", name=re.compile("^Review")).click()
    await page.wait_for_url(re.compile(r"/quality\?call="))
    await expect(page.locator("#review-title")).to_have_text(
        re.compile(rf"^Agent 1003's call with Fatma Demir \(0532 111 22 33\), {DATE_TIME}$")
    )

    await page.goto(f"{daemon.url}/history")
    await page.fill("input[name=number]", "0532 111 22 33")  # national format finds it too
    await page.click("button[type=submit]")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-linkedid", recorded)


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
    await pool.execute(
        "INSERT INTO call_notes (linkedid, user_id, disposition, text) SELECT 'b.001', id, d, x"
        " FROM users, (VALUES (NULL, 'Called about the bill'), ('Paid', 'Will pay Friday'))"
        " AS notes (d, x) WHERE username = 'agent1'"
    )
    page = await supervisor_on(browser, daemon, "/history")
    rows = page.locator("#history tbody tr")
    await expect(page.locator("#total")).to_have_text("130 calls")
    await expect(rows).to_have_count(100)
    await expect(page.locator("#page")).to_have_text("Page 1: calls 1–100")
    newest = rows.first
    await expect(newest).to_have_attribute("data-linkedid", "b.001")
    await expect(newest.locator("td.caller .name")).to_have_text(HOSTILE)  # as text
    await expect(newest.locator("td.wait")).to_have_text("1 min 5 s")  # units on every duration
    await expect(newest.locator("td.talk")).to_have_text("1 h 2 min")
    await expect(newest.locator("td.disposition")).to_have_text("Paid")
    await expect(newest.locator("td.note")).to_have_text("Called about the bill\nWill pay Friday")
    assert not await owned(page)
    await expect(page.locator("#previous")).to_be_disabled()
    csv = page.get_by_role("link", name="Export these calls (CSV)")
    await expect(csv).to_have_attribute("href", "/api/history.csv?")

    await page.click("#next")
    await expect(page.locator("#page")).to_have_text("Page 2: calls 101–130")
    await expect(page.locator("#total")).to_have_text("130 calls")
    await expect(rows).to_have_count(30)
    await expect(rows.first).to_have_attribute("data-linkedid", "b.101")
    await expect(page.locator("#next")).to_be_disabled()
    await page.click("#previous")
    await expect(page.locator("#page")).to_have_text("Page 1: calls 1–100")
    await expect(rows.first).to_have_attribute("data-linkedid", "b.001")
    await expect(page.locator("#previous")).to_be_disabled()

    await page.fill("input[name=number]", "0532 77")  # a new search starts at its first page
    await page.click("button[type=submit]")
    await expect(page.locator("#total")).to_have_text("1 call")
    await expect(rows).to_have_count(1)
    await expect(page.locator("#next")).to_be_disabled()
    await expect(csv).to_have_attribute("href", "/api/history.csv?number=0532+77")


async def test_the_history_finds_an_agent_by_name_and_says_why_a_search_is_refused(
    browser: Browser, daemon: Daemon
) -> None:
    pool = await daemon.app[DATABASE].pool()
    await pool.execute(
        "INSERT INTO calls (linkedid, caller_number, caller_name, dialed, direction, queue,"
        " agent, agent_name, outcome, talk_s, started_at) SELECT 'g.' || n, '0532' || n,"
        " 'Arayan ' || n, '4440', 'inbound', 'support', CASE WHEN n <= 3 THEN 'SIP/1001'"
        " ELSE 'SIP/1002' END, 'Asterisk member ' || n, 'answered', 60,"
        " now() - n * interval '1 minute' FROM generate_series(1, 5) AS n"
    )
    page = await supervisor_on(browser, daemon, "/history")
    rows = page.locator("#history tbody tr")
    await expect(rows).to_have_count(5)
    await expect(rows.first.locator("td.agent")).to_have_text("Ayla Demir")  # not SIP/1001

    for who, found in [("ayla demir", 3), ("agent2", 2), ("Burak Kaya", 2)]:
        await page.fill("input[name=agent]", who)  # display name or username, any case
        await page.click("button[type=submit]")
        await expect(page.locator("#total")).to_have_text(f"{found} calls")
        await expect(rows).to_have_count(found)
    await expect(rows.locator("td.agent")).to_have_text(["Burak Kaya"] * 2)

    status = page.locator("#search-status")
    await page.fill("input[name=agent]", "Nobody Here")
    await page.click("button[type=submit]")
    await expect(status).to_have_text(re.compile(r'no one is called "Nobody Here"'))
    await expect(page.locator("#history")).to_have_count(0)  # no silently empty table

    await page.fill("input[name=agent]", "")
    await page.fill("input[name=from]", "2026-11-20")
    await page.fill("input[name=to]", "2026-11-10")
    await page.click("button[type=submit]")
    await expect(status).to_have_text(
        "The search was refused: the period is reversed or empty: to must be after from"
        " (from 2026-11-20, to 2026-11-10)"
    )
    await expect(page.locator("#history")).to_have_count(0)
    await expect(page.locator("#total")).to_have_count(0)

    await page.fill("input[name=from]", "")
    await page.fill("input[name=to]", "")
    await page.click("button[type=submit]")
    await expect(status).to_have_text("")
    await expect(rows).to_have_count(5)


async def test_a_call_is_reviewed_and_the_agent_reads_the_review(
    browser: Browser, daemon: Daemon
) -> None:
    linkedid = await handled_call(daemon, "SIP/1001")
    boss = await supervisor_on(browser, daemon, "/quality")
    posted: list[str] = []

    def sent(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/api/quality/reviews"):
            posted.append(request.url)

    boss.on("request", sent)
    row = boss.locator(f'#sample tr[data-linkedid="{linkedid}"]')
    await expect(row.locator("td").nth(0)).to_have_text("Ayla Demir")
    await expect(row.locator("td.score")).to_have_text("not reviewed")
    await row.get_by_role("button", name=re.compile("^Review Ayla Demir's call")).click()

    # The review names the agent, the caller and the time: never the call's id.
    title = boss.locator("#review-title")
    await expect(title).to_have_text(
        re.compile(rf"^Ayla Demir's call with Fatma Demir \(0532 111 22 33\), {DATE_TIME}$")
    )
    assert linkedid not in await boss.locator("#review-box").inner_text()

    # Marks start empty, and an untouched form is not sent.
    marks = boss.locator("#review select")
    await expect(marks).to_have_count(5)
    for index in range(5):
        await expect(marks.nth(index)).to_have_value("")
    await boss.get_by_role("button", name="Save review").click()
    await expect(boss.locator("#review .form-status")).to_have_text(
        "Give every criterion its mark first. Not marked: Greeting and identification,"
        " Identity checked before account details, Accurate and complete information,"
        " Courtesy and empathy, Disposition and notes recorded."
    )
    await expect(boss.locator("#review select[aria-invalid=true]")).to_have_count(5)
    pool = await daemon.app[DATABASE].pool()
    assert posted == [] and await pool.fetchval("SELECT count(*) FROM quality_reviews") == 0

    for index in range(5):
        await marks.nth(index).select_option("5")
    await boss.locator("select[name='Courtesy and empathy']").select_option("2")
    await boss.fill("textarea[name=comment]", HOSTILE)
    await boss.get_by_role("button", name="Save review").click()
    await expect(boss.locator("#notice")).to_have_text("Saved: 88% for Ayla Demir")
    assert len(posted) == 1
    await expect(row.locator("td.score")).to_have_text("88%")
    reviewed = boss.locator(f'#reviews tr[data-linkedid="{linkedid}"]')
    await expect(reviewed.locator("td.call")).to_have_text(
        re.compile(rf"^Ayla Demir with Fatma Demir \(0532 111 22 33\), {DATE_TIME}$")
    )
    await expect(reviewed.locator("td.comment")).to_have_text(HOSTILE)  # as text
    assert not await owned(boss)

    agent = await signed_in(browser, daemon, "agent1")
    await expect(agent.locator("ul.reviews li").first).to_contain_text("88%")
    await expect(agent.locator("ul.reviews li").first).to_contain_text(HOSTILE)
    assert await agent.locator("ul.reviews img").count() == 0 and await agent.title() != "owned"


TEXTS = {
    "en": {"history": "Call history", "quality": "Quality review", "review": "Review"},
    "tr": {"history": "Çağrı geçmişi", "quality": "Kalite değerlendirme", "review": "Değerlendir"},
}


@pytest.mark.parametrize("screen", ["1366x768", "1920x1080"])
@pytest.mark.parametrize("language", ["tr", "en"])
async def test_the_pages_fit_and_pass_axe(
    browser: Browser, daemon: Daemon, screen: str, language: str
) -> None:
    linkedid = await handled_call(daemon, "SIP/1001")
    pool = await daemon.app[DATABASE].pool()
    long_name = "Prof. Dr. Ayşe Çağrı Yılmaz-Öztürkoğlu Büyükşehirlioğulları " * 2
    await pool.execute(
        "INSERT INTO calls (linkedid, caller_number, caller_name, dialed, direction, queue,"
        " agent, outcome, wait_s, talk_s, consent, started_at) SELECT 'f.' || n, '0532' || n,"
        " $1, '4440', 'inbound', 'support', 'SIP/1002', 'answered', 4000, 7300, 'declined',"
        " now() - n * interval '1 minute' FROM generate_series(1, 20) AS n",
        long_name.strip(),
    )
    await pool.execute(
        "INSERT INTO call_notes (linkedid, user_id, disposition, text) SELECT 'f.1', id,"
        " 'Promise to pay', repeat('A long note about the call. ', 12) FROM users"
        " WHERE username = 'agent2'"
    )
    texts = TEXTS[language]

    page = await supervisor_on(browser, daemon, "/history", language=language, screen=screen)
    await expect(page.locator("header.top h1")).to_have_text(texts["history"])
    await expect(page.locator("#history tbody tr")).to_have_count(21)
    await page.locator(f'#history tr[data-linkedid="{linkedid}"] button.play').click()
    await expect(page.locator(f'tr[data-player="{linkedid}"] audio')).to_be_visible()
    assert await sideways_overflow(page) == 0
    assert await serious_accessibility_violations(page) == []

    await page.goto(f"{daemon.url}/quality")
    await expect(page.locator("header.top h1")).to_have_text(texts["quality"])
    row = page.locator(f'#sample tr[data-linkedid="{linkedid}"]')
    await row.get_by_role("button", name=re.compile(texts["review"], re.IGNORECASE)).click()
    await expect(page.locator("#review select")).to_have_count(5)
    assert await sideways_overflow(page) == 0
    assert await serious_accessibility_violations(page) == []
