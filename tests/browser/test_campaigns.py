"""The outbound campaigns on the supervisor's page (web/src/wall/Campaigns.tsx) in real
headless Chromium against the live daemon and the simulator: a campaign made and filled
through the API is shown paused with its list and its agents by name, in Turkish and
English, at 1366x768 and 1920x1080, with no sideways scrolling and no serious accessibility
violation, and in wall mode without its button; no campaign, no section; Resume sets it
running and its agent's ready phone starts calling; Pause stops it; a refusal is shown beside
the button."""

from __future__ import annotations

import re
from typing import Any

import pytest
from browsing import serious_accessibility_violations, sideways_overflow, signed_in
from harness import Daemon, posted
from playwright.async_api import Browser, Locator, Page, expect

from cti.demo import seed_demo_customers
from cti.keys import DATABASE
from cti.simulator import OutboundBehaviour

ALL_DAY = {
    "calls_from": "00:00",
    "calls_until": "23:59:59.999999",
    "weekdays": [1, 2, 3, 4, 5, 6, 7],
}
IN_DEBT = 4  # the demo's customers owing something (balance over 0)
TEXTS = {
    "en": {
        "title": "Campaigns",
        "paused": "Paused",
        "resume": "Resume",
        "abandoned": "Abandoned by us",
        "none": "none:",
    },
    "tr": {
        "title": "Kampanyalar",
        "paused": "Duraklatıldı",
        "resume": "Sürdür",
        "abandoned": "Bizden kaynaklı kaçan",
        "none": "yok:",
    },
}


async def campaign(daemon: Daemon, name: str, agents: list[str], filled: bool = True) -> int:
    """A campaign made by the admin (paused, as every new one), its list built from the demo's
    customers in debt; their phones are busy at once, so that attempts end quickly."""
    new: dict[str, Any] = {"name": name, "caller_id": "+902125550000", "agents": agents}
    status, body = await posted(daemon, "root", "/api/campaigns", {**new, **ALL_DAY})
    assert status == 201, body
    if filled:
        await seed_demo_customers(await daemon.app[DATABASE].pool(), "agent1")
        path = f"/api/campaigns/{body['id']}/list"
        status, added = await posted(daemon, "boss", path, {"filter": {"balance_over": 0}})
        assert (status, added["added"]) == (200, IN_DEBT), added
        for number in ("905321234567", "905301110001", "905301110002", "4930123456"):
            daemon.sim.set_customer(number, OutboundBehaviour(outcome="busy", answer_after_s=0.2))
    return int(body["id"])


def value(card: Locator, figure: str) -> Locator:
    return card.locator(f"[data-figure={figure}] .value")


async def next_refresh(page: Page) -> None:
    """Until the page has read the campaigns again (every 10 s)."""
    async with page.expect_response(
        lambda r: r.url.endswith("/api/campaigns") and r.request.method == "GET", timeout=15_000
    ):
        pass


@pytest.mark.parametrize("screen", ["1366x768", "1920x1080"])
@pytest.mark.parametrize("language", ["tr", "en"])
async def test_a_campaign_reads_fits_and_passes_axe(
    browser: Browser, daemon: Daemon, screen: str, language: str
) -> None:
    campaign_id = await campaign(daemon, "Gecikmiş borçlar — Mart", ["SIP/1002", "SIP/1001"])
    page = await signed_in(
        browser, daemon, "boss", lands_on="/supervisor", language=language, screen=screen
    )
    texts = TEXTS[language]
    section = page.locator("section.campaigns")
    await expect(section.locator("h2")).to_have_text(texts["title"])
    card = section.locator(f'.campaign-card[data-campaign="{campaign_id}"]')
    await expect(card.locator("h3")).to_have_text("Gecikmiş borçlar — Mart")
    await expect(card.locator(".campaign-state")).to_have_text(texts["paused"])
    await expect(card).to_have_class("campaign-card paused")
    # Its agents by the name people know them by, with their state now.
    burak = card.locator('.campaign-agents [data-interface="SIP/1002"]')
    await expect(burak).to_contain_text("Burak Kaya")
    await expect(burak).to_have_class(re.compile(r"\bstate-ready\b"))
    await expect(card.locator('.campaign-agents [data-interface="SIP/1001"]')).to_contain_text(
        "Ayla Demir"
    )
    for figure in ("listed", "open", "dueNow"):
        await expect(value(card, figure)).to_have_text(str(IN_DEBT))
    await expect(value(card, "attempts")).to_have_text("0")
    await expect(card.get_by_role("button", name=texts["resume"])).to_be_visible()
    # What the figures mean, and why there is no abandon rate: progressive dialing has none.
    abandoned = section.locator(".campaign-terms > div").last
    await expect(abandoned.locator("dt")).to_have_text(texts["abandoned"])
    await expect(abandoned.locator("dd")).to_contain_text(texts["none"])
    assert await sideways_overflow(page) == 0
    assert await serious_accessibility_violations(page) == []

    # Wall mode: the campaign without its button, the page still fitting the screen.
    await page.goto(f"{daemon.url}/supervisor?wall")
    await expect(card.locator(".campaign-state")).to_have_text(texts["paused"])
    await expect(value(card, "listed")).to_have_text(str(IN_DEBT))
    await page.wait_for_timeout(300)  # the page has settled its size
    assert await page.locator("button, select, input, a").count() == 0
    assert await sideways_overflow(page) == 0
    assert await page.locator("html.wall-clipped").count() == 0
    assert await serious_accessibility_violations(page) == []


async def test_a_campaign_is_resumed_calls_and_is_paused_again(
    browser: Browser, daemon: Daemon
) -> None:
    page = await signed_in(browser, daemon, "boss", lands_on="/supervisor")
    await next_refresh(page)
    await expect(page.locator("section.campaigns")).to_have_count(0)  # none: no section

    # Made while the page is open: shown at its next reading of the figures.
    arrears = await campaign(daemon, "Arrears", ["SIP/1002"])
    spare = await campaign(daemon, "Spare", [], filled=False)
    card = page.locator(f'.campaign-card[data-campaign="{arrears}"]')
    await expect(card.locator(".campaign-state")).to_have_text("Paused", timeout=15_000)
    await expect(value(card, "listed")).to_have_text(str(IN_DEBT))
    spare_card = page.locator(f'.campaign-card[data-campaign="{spare}"]')
    await expect(spare_card.locator(".campaign-agents")).to_contain_text("No agent assigned")
    await expect(value(spare_card, "listed")).to_have_text("0")

    # Resume: running, and Burak's ready phone calls its customers; the attempts grow.
    await card.get_by_role("button", name="Resume").click()
    await expect(card.locator(".form-status")).to_have_text(
        "Resumed: calling for its ready agents."
    )
    await expect(card.locator(".campaign-state")).to_have_text("Running")
    await expect(card).to_have_class("campaign-card running")
    await expect(value(card, "attempts")).not_to_have_text("0", timeout=30_000)
    assert int(await value(card, "attempts").inner_text()) >= 1
    await expect(card.locator("[data-figure=contacts] .detail")).to_contain_text("contact rate")
    assert await sideways_overflow(page) == 0

    # Pause: no new calls (those under way finish).
    await card.get_by_role("button", name="Pause").click()
    await expect(card.locator(".campaign-state")).to_have_text("Paused")
    await expect(card.locator(".form-status")).to_have_text(
        "Paused: no new calls; calls under way finish."
    )
    pool = await daemon.app[DATABASE].pool()
    assert await pool.fetchval("SELECT paused FROM campaigns WHERE id = $1", arrears) is True

    # A campaign gone since the page last read them: the server's refusal beside its button.
    await next_refresh(page)  # the next one is 10 s away
    await pool.execute("DELETE FROM campaigns WHERE id = $1", spare)
    await spare_card.get_by_role("button", name="Resume").click()
    await expect(spare_card.locator(".form-status.error")).to_have_text("no such campaign")
    await expect(spare_card).to_have_count(0, timeout=15_000)  # at the next reading
    await expect(card).to_be_visible()
