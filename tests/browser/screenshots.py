"""Screenshots of the panel's screens, in Turkish and English, at 1366x768 and 1920x1080:
the same live daemon, simulator and Chromium the browser tests use.

    scripts/screenshots [OUT_DIR]        (default: var/screenshots)

Screens: sign-in, the agent idle, ringing for a known caller, on call, in wrap-up after the
call, on call with an unknown caller, a customer search's results and a customer's page
outside a call; the supervisor's wall (a day on the chart, a call talking, one waiting, an
alert) and the same in wall mode, as a TV shows it; the call history (with a recording
playing) and quality review (the sample, a call's review form, past reviews); the
supervisor's page with two outbound campaigns (one running with the day's attempts, contacts
and promises, one paused), and the same in wall mode. One PNG per
screen, language and size, named
``<screen>-<language>-<size>.png``; the full page, not only what the window shows.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from browsing import CHROMIUM_ARGS, LOCALES, SCREENS, signed_in, supervisor_on
from harness import Daemon, posted, running_daemon
from pgserver import get_server  # type: ignore[attr-defined]
from playwright.async_api import Browser, Page, async_playwright, expect

from cti.demo import seed_demo_customers
from cti.keys import DATABASE, STATE
from cti.phone import to_e164
from cti.simulator import OutboundBehaviour

REPO = Path(__file__).resolve().parents[2]


async def shoot(page: Page, out: Path, screen: str, language: str, size: str) -> None:
    path = out / f"{screen}-{language}-{size}.png"
    await page.screenshot(path=str(path), full_page=True)
    print(path.relative_to(out.parent) if out.parent in path.parents else path)


async def wall_shots(browser: Browser, daemon: Daemon, out: Path) -> None:
    """The supervisor's wall and wall mode, each language and size."""
    sim, state = daemon.sim, daemon.app[STATE]
    for n in range(4):  # the day so far: calls answered, then a caller who hung up waiting
        await sim.place_call(
            f"90532123450{n}", "Ayşe Çağrı Yılmaz", "sales", answer_after=0.1, talk_s=0.3
        )
        await asyncio.sleep(0.6)
    await sim.place_call(
        "905551234567", "Mehmet Öztürk", "sales", answer_after=None, patience_s=0.2
    )
    await asyncio.sleep(0.5)
    talking = await sim.place_call(
        "905321234567", "Ayşe Çağrı Yılmaz", "support", consent="granted", answer_after=None,
        talk_s=600,
    )  # fmt: skip
    while talking not in state.calls or "SIP/1001" not in state.calls[talking].ringing:
        await asyncio.sleep(0.02)
    sim.answer(talking, "SIP/1001")
    waiting = await sim.place_call(
        "905339998877", "Yeni Arayan", "support", consent="granted", answer_after=None
    )
    for language in LOCALES:
        for size in SCREENS:
            page = await signed_in(
                browser, daemon, "boss", lands_on="/supervisor", language=language, screen=size
            )
            await expect(page.locator(".queue-card")).to_have_count(2)
            await page.wait_for_timeout(1200)  # the timers moved on
            await shoot(page, out, "wallboard", language, size)
            await page.goto(f"{daemon.url}/supervisor?wall")
            await expect(page.locator(".link-live")).to_be_visible()
            await page.wait_for_timeout(800)
            await shoot(page, out, "wall-mode", language, size)
            await page.context.close()
    await sim.hangup(waiting)
    await sim.hangup(talking)


# Today's calls of a campaign before the screenshots: (customer's demo ref, outcome), and
# the promises made on the answered ones: (demo ref, amount).
CAMPAIGN_CALLS = [
    ("demo-1", "answered"), ("demo-3", "unanswered"), ("demo-4", "answered"),
    ("demo-5", "answered"), ("demo-3", "failed"), ("demo-4", "unanswered"),
]  # fmt: skip
CAMPAIGN_PROMISES = [("demo-1", "750.00"), ("demo-5", "200.00")]


async def campaign_shots(browser: Browser, daemon: Daemon, out: Path) -> None:
    """The supervisor's page with a running campaign (its day so far seeded; its customers'
    phones busy, so that its agent is soon free again) and a paused one, and wall mode."""
    pool = await daemon.app[DATABASE].pool()
    hours = {"calls_from": "00:00", "calls_until": "23:59:59.999999", "weekdays": [1, 2, 3, 4, 5, 6, 7]}  # fmt: skip
    ids = []
    for name, agents, chosen in (
        ("Gecikmiş ödemeler", ["SIP/1002", "SIP/1001"], {"balance_over": 0}),
        ("Kırık sözler", [], {"promise_broken": True}),
    ):
        new = {"name": name, "caller_id": "+902125550000", "agents": agents, **hours}
        status, body = await posted(daemon, "root", "/api/campaigns", new)
        assert status == 201, body
        ids.append(body["id"])
        path = f"/api/campaigns/{body['id']}/list"
        status, body = await posted(daemon, "boss", path, {"filter": chosen})
        assert status == 200, body
    for n, (ref, outcome) in enumerate(CAMPAIGN_CALLS):
        await pool.execute(
            "INSERT INTO calls (linkedid, caller_number, caller_e164, caller_name, dialed,"
            " direction, agent, outcome, started_at, campaign_id, attempt) SELECT $1,"
            " substr(p.e164, 2), p.e164, c.full_name, substr(p.e164, 2), 'outbound', 'SIP/1002',"
            " $2, now() - make_interval(mins => $3), $4, 1 FROM customers c JOIN customer_phones"
            " p ON p.customer_id = c.id WHERE c.external_ref = $5",
            f"campaign.{n}", outcome, 30 - n, ids[0], ref,
        )  # fmt: skip
    for ref, amount in CAMPAIGN_PROMISES:
        await pool.execute(
            "INSERT INTO promises (customer_id, user_id, linkedid, amount, currency, due_date)"
            " SELECT c.id, u.id, k.linkedid, $2::numeric, c.currency, current_date + 7"
            " FROM customers c JOIN calls k ON k.caller_name = c.full_name"
            " AND k.campaign_id IS NOT NULL AND k.outcome = 'answered', users u"
            " WHERE c.external_ref = $1 AND u.username = 'agent2'",
            ref, amount,
        )  # fmt: skip
    for number in ("905321234567", "905301110001", "905301110002", "4930123456"):
        daemon.sim.set_customer(number, OutboundBehaviour(outcome="busy", answer_after_s=0.3))
    status, _ = await posted(daemon, "boss", f"/api/campaigns/{ids[0]}/paused", {"paused": False})
    assert status == 200
    await asyncio.sleep(8)  # its agent has called the list: each line busy, all waiting a retry
    for language in LOCALES:
        for size in SCREENS:
            page = await signed_in(
                browser, daemon, "boss", lands_on="/supervisor", language=language, screen=size
            )
            await expect(page.locator(".campaign-card")).to_have_count(2)
            await shoot(page, out, "campaigns", language, size)
            await page.goto(f"{daemon.url}/supervisor?wall")
            await expect(page.locator(".campaign-card")).to_have_count(2)
            await page.wait_for_timeout(800)
            await shoot(page, out, "campaigns-wall-mode", language, size)
            await page.context.close()


# Past calls for the history: (caller number, caller name, queue, agent, outcome, consent).
PAST_CALLS = [
    ("905321234567", "Ayşe Çağrı Yılmaz", "support", "SIP/1001", "answered", "granted"),
    ("905339998877", "Yeni Arayan", "support", None, "abandoned", None),
    ("4930123456", "Hans Müller", "sales", "SIP/1002", "answered", "declined"),
    ("905551112233", "Mehmet Öztürk", "support", "SIP/1002", "transferred", "granted"),
    ("anonymous", "", "support", None, "timed_out", None),
    ("905301110001", "Zeynep Arslan", "sales", "SIP/1001", "answered", "granted"),
]


async def seed_history(pool: asyncpg.Pool) -> None:
    """Yesterday's calls, with notes and a review, for the history and quality screens."""
    start = datetime.now(UTC) - timedelta(days=1)
    rows = []
    for n in range(36):
        number, name, queue, agent, outcome, consent = PAST_CALLS[n % len(PAST_CALLS)]
        talk = 45 + 37 * n if agent else None
        rows.append(
            (f"past.{n}", number, to_e164(number, "TR"), name, queue, agent, outcome,
             5 + 11 * n % 140, talk, consent, start - timedelta(minutes=17 * n))
        )  # fmt: skip
    await pool.executemany(
        "INSERT INTO calls (linkedid, caller_number, caller_e164, caller_name, dialed,"
        " direction, queue, agent, outcome, wait_s, talk_s, consent, started_at)"
        " VALUES ($1, $2, $3, $4, '4440', 'inbound', $5, $6, $7, $8, $9, $10, $11)",
        rows,
    )
    await pool.execute(
        "INSERT INTO call_notes (linkedid, user_id, disposition, text) SELECT linkedid, u.id,"
        " 'Payment promised', 'Will pay on Friday; send a reminder.' FROM calls, users u"
        " WHERE linkedid IN ('past.0', 'past.6', 'past.12') AND u.username = 'agent1'"
    )
    await pool.execute(
        "INSERT INTO quality_reviews (linkedid, agent, reviewer_id, form, marks, score, comment)"
        " SELECT 'past.5', 'SIP/1001', id, '[]', '{}', 86.0, 'Clear and friendly; confirm the"
        " customer''s identity before the balance.' FROM users WHERE username = 'boss'"
    )


async def shoot_supervisor_pages(
    browser: Browser, daemon: Daemon, out: Path, language: str, size: str
) -> None:
    page = await supervisor_on(browser, daemon, "/history", language=language, screen=size)
    await expect(page.locator("#history tbody tr").first).to_be_visible()
    await shoot(page, out, "history", language, size)
    player = page.locator("#history button.play").first
    await player.click()
    await expect(page.locator("tr.player-row audio")).to_be_visible()
    await shoot(page, out, "history-playing", language, size)
    await page.goto(f"{daemon.url}/quality")
    await page.locator("#sample button").first.click()
    await expect(page.locator("#review select").first).to_be_visible()
    await page.locator("#review button[type=submit]").click()  # untouched: says what is missing
    await expect(page.locator("#review .form-status")).not_to_be_empty()
    await page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar where it belongs
    await shoot(page, out, "quality-review", language, size)
    await page.context.close()


async def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="cti-screenshots-"))
    folder.chmod(0o755)  # pgserver runs PostgreSQL as its own user when we are root
    server = get_server(folder / "pg", cleanup_mode="delete")
    try:
        server.psql("CREATE DATABASE shots;")
        async with (
            running_daemon(
                str(server.get_uri("shots")), folder / "daemon", center_wrapup_s=30
            ) as daemon,
            async_playwright() as playwright,
        ):
            await seed_demo_customers(await daemon.app[DATABASE].pool(), "agent1")
            await seed_history(await daemon.app[DATABASE].pool())
            browser = await playwright.chromium.launch(
                executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS
            )
            for language in LOCALES:
                for size in SCREENS:
                    context = await browser.new_context(
                        locale=LOCALES[language],
                        viewport=SCREENS[size],  # type: ignore[arg-type]
                    )
                    login = await context.new_page()
                    await login.goto(f"{daemon.url}/login")
                    await login.locator("input[name=username]").wait_for()
                    await shoot(login, out, "sign-in", language, size)
                    await context.close()

                    page = await signed_in(
                        browser, daemon, "agent1", language=language, screen=size
                    )
                    await shoot(page, out, "agent-idle", language, size)
                    call = page.locator("section.current article.call")
                    linkedid = await daemon.sim.place_call(
                        "905321234567", "Ayşe Çağrı Yılmaz", "support", consent="granted",
                        answer_after=None, talk_s=300,
                    )  # fmt: skip
                    await expect(call.locator("section.customer")).to_be_visible()
                    await page.wait_for_timeout(1200)  # the wait timer moved on
                    await shoot(page, out, "agent-ringing", language, size)
                    daemon.sim.answer(linkedid, "SIP/1001")
                    await expect(call).to_have_class("call call-on_call")
                    await page.wait_for_timeout(2200)
                    await shoot(page, out, "agent-on-call", language, size)
                    await daemon.sim.hangup(linkedid)
                    await expect(call).to_have_class("call call-ended")
                    await expect(call.locator(".wrap-up")).to_be_visible()
                    await shoot(page, out, "agent-wrap-up", language, size)
                    await call.locator("button.done").click()
                    await page.locator(".state-controls button").first.click()  # Ready
                    search = page.get_by_role("search")
                    await search.locator("input[name=q]").fill("Yılmaz")
                    await search.locator("button[type=submit]").click()
                    results = page.locator(".search-results li")
                    await expect(results.first).to_be_visible()
                    await shoot(page, out, "agent-search", language, size)
                    await results.first.locator("button").click()
                    await expect(page.locator(".search-card section.customer")).to_be_visible()
                    await shoot(page, out, "agent-customer-page", language, size)
                    await page.locator(".search-card > button").click()
                    unknown = await daemon.sim.place_call(
                        "905339998877", "Yeni Arayan", "support", answer_after=0.1, talk_s=60
                    )
                    await expect(call.locator("form.new-customer")).to_be_visible()
                    await shoot(page, out, "agent-unknown-caller", language, size)
                    await daemon.sim.hangup(unknown)  # the phone is free for the next round
                    await expect(call).to_have_class("call call-ended")
                    await expect(call.locator(".wrap-up")).to_be_visible()
                    await page.locator(".state-controls button").first.click()  # Ready
                    await expect(call.locator(".wrap-up")).to_have_count(0)
                    await shoot_supervisor_pages(browser, daemon, out, language, size)
                    await page.context.close()
            await wall_shots(browser, daemon, out)
            await campaign_shots(browser, daemon, out)
            await browser.close()
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "var" / "screenshots"))
