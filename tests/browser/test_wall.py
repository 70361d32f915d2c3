"""The supervisor's wall in real headless Chromium against the live daemon and the simulator,
in Turkish and English, at 1366x768 and 1920x1080: no sideways scrolling and no serious
accessibility violation (axe-core); wall mode for a TV fits the screen with several queues,
in large type and without controls; an alert raised before the page opened is shown on
opening, newest first; a queue whose callers hang up is not colored as fine because those it
answered were answered fast."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from browsing import serious_accessibility_violations, sideways_overflow, signed_in
from harness import Daemon, running_daemon
from playwright.async_api import Browser, Locator, Page, expect

from cti.keys import ALERTS, STATE
from cti.simulator import MemberConfig, QueueConfig, SimConfig

HOSTILE = '<img src=x onerror="window.__xss=1">'
LONG_NAME = "Ayşegül Çağlayan-Karaosmanoğlu Yıldırımoğulları " * 3
TEXTS = {
    "en": {"title": "Supervisor wall", "on_call": "On call", "legend": "Abandoned"},
    "tr": {"title": "Süpervizör ekranı", "on_call": "Görüşmede", "legend": "Kaçan"},
}


async def vertical_overflow(page: Page) -> int:
    """How many pixels the page is taller than its window (0: nothing to scroll down)."""
    return int(
        await page.evaluate(
            "document.scrollingElement.scrollHeight - document.scrollingElement.clientHeight"
        )
    )


async def font_size(element: Locator) -> float:
    return float(await element.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))


async def answered_by(daemon: Daemon, linkedid: str, interface: str) -> None:
    state = daemon.app[STATE]
    while linkedid not in state.calls or interface not in state.calls[linkedid].ringing:
        await asyncio.sleep(0.02)
    assert daemon.sim.answer(linkedid, interface)


@pytest.mark.parametrize("screen", ["1366x768", "1920x1080"])
@pytest.mark.parametrize("language", ["tr", "en"])
async def test_the_wall_fits_reads_and_passes_axe(
    browser: Browser, daemon: Daemon, screen: str, language: str
) -> None:
    page = await signed_in(
        browser, daemon, "boss", lands_on="/supervisor", language=language, screen=screen
    )
    texts = TEXTS[language]
    await expect(page.locator("h1")).to_have_text(texts["title"])
    talking = await daemon.sim.place_call(
        "905321234567", LONG_NAME, "support", consent="granted", answer_after=None, talk_s=60
    )
    await answered_by(daemon, talking, "SIP/1001")
    await daemon.sim.place_call("905339998877", HOSTILE, "support", answer_after=None)
    ayla = page.locator('#agents tr[data-interface="SIP/1001"]')
    await expect(ayla.locator("td.state")).to_have_text(texts["on_call"])
    await expect(ayla.locator(".agent-name button")).to_have_text("Ayla Demir")
    await expect(ayla.locator("td.caller")).to_have_text(LONG_NAME.strip())
    await expect(page.locator("#calls tbody tr")).to_have_count(2)
    await expect(page.locator("#calls")).to_contain_text(HOSTILE)  # as text
    # The day chart reads: hours along the bottom, counts and percents beside, a legend.
    chart = page.locator('.queue-card[data-queue="support"] .day-chart')
    assert await chart.locator(".axis.hours text").count() >= 8
    assert await chart.locator(".axis.counts text").count() >= 2
    assert await chart.locator(".axis.ratio text").count() == 3
    await expect(chart.locator(".legend li")).to_have_count(5)
    await expect(chart.locator(".legend")).to_contain_text(texts["legend"])
    await expect(chart.locator("rect.answered")).to_have_count(1)
    assert await sideways_overflow(page) == 0
    assert await serious_accessibility_violations(page) == []
    assert await page.evaluate("window.__xss") is None

    # The same in wall mode, from the button: no controls, nothing to scroll, larger type.
    figure = page.locator('.queue-card[data-queue="support"] [data-figure=waiting] .value')
    desk_size = await font_size(figure)
    await page.locator("#wall-mode").click()
    await expect(page.locator("html.wall-mode")).to_have_count(1)
    await expect(page.locator('#agents li[data-interface="SIP/1001"]')).to_contain_text(
        "Ayla Demir"
    )
    assert await page.locator("button, select, input, a").count() == 0
    assert "?wall" in page.url  # a reload stays on the wall
    assert await sideways_overflow(page) == 0
    assert await vertical_overflow(page) == 0
    assert await font_size(figure) > desk_size * 1.2
    assert await serious_accessibility_violations(page) == []
    await page.keyboard.press("Escape")
    await expect(page.locator("#wall-mode")).to_be_visible()


def many_queues() -> SimConfig:
    """Six queues of three or four agents each: a center's TV wall."""
    names = ("support", "sales", "billing", "collections", "retention", "corporate")
    queues = []
    for index, name in enumerate(names):
        members = tuple(
            MemberConfig(f"SIP/{2000 + 10 * index + n}", f"Agent {2000 + 10 * index + n}")
            for n in range(3 + index % 2)
        )
        if name == "support":  # the test users' phones, for their display names
            members = (
                MemberConfig("SIP/1001", "Agent 1001"),
                MemberConfig("SIP/1002", "Agent 1002"),
            )
        queues.append(
            QueueConfig(
                name, str(4440 + index), members, "rrmemory", consent="implied", ring_timeout_s=60
            )
        )
    return SimConfig(
        queues=tuple(queues),
        username="cti",
        secret="sim-secret",
        announcement_s=0.05,
        arrival_rate=0,
    )


@pytest.mark.parametrize("screen", ["1920x1080", "1366x768"])
async def test_wall_mode_fits_a_tv_with_several_queues_in_large_type(
    browser: Browser, database_url: str, tmp_path: Path, screen: str
) -> None:
    async with running_daemon(database_url, tmp_path, sim_config=many_queues()) as daemon:
        for queue in ("support", "sales", "billing"):  # calls on the chart and waiting
            await daemon.sim.place_call(
                "905321234567", "Ayşe Yılmaz", queue, answer_after=0.1, talk_s=0.2
            )
            await daemon.sim.place_call("905331112233", LONG_NAME, queue, answer_after=None)
        page = await signed_in(
            browser, daemon, "boss", lands_on="/supervisor", language="tr", screen=screen
        )
        await page.goto(f"{daemon.url}/supervisor?wall")
        await expect(page.locator(".queue-card")).to_have_count(6)
        await expect(page.locator("#agents li")).to_have_count(20)
        await expect(page.locator(".link-live")).to_be_visible()
        await expect(page.locator(".queue-card .day-chart rect.answered")).to_have_count(3)
        await page.wait_for_timeout(300)  # the page has settled its size
        assert await page.locator("button, select, input, a").count() == 0
        assert await sideways_overflow(page) == 0
        assert await vertical_overflow(page) == 0
        assert await page.locator("html.wall-clipped").count() == 0  # it fits, nothing cut
        figure = page.locator('.queue-card[data-queue="support"] [data-figure=waiting] .value')
        if screen == "1920x1080":  # large type, read from across the room
            assert await font_size(figure) >= 36
        assert await serious_accessibility_violations(page) == []


async def test_an_alert_raised_before_the_page_opened_is_shown_on_opening(
    browser: Browser, database_url: str, tmp_path: Path
) -> None:
    async with running_daemon(database_url, tmp_path, center_max_wait_s=1) as daemon:
        linkedid = await daemon.sim.place_call(
            "905321112233", "Fatma Demir", "sales", answer_after=None
        )
        while not daemon.app[ALERTS].since(0):  # raised with no page open
            await asyncio.sleep(0.05)
        page = await signed_in(browser, daemon, "boss", lands_on="/supervisor")
        feed = page.locator("#alert-feed li")
        await expect(feed).to_have_count(1)
        first = feed.first
        await expect(first).to_have_attribute("data-queue", "sales")
        await expect(first).to_have_class("raised holding")
        await expect(first).to_contain_text("A caller has waited past the limit")
        await expect(first).to_contain_text("still on")
        sales = page.locator('.queue-card[data-queue="sales"]')
        await expect(sales).to_have_class("queue-card level-bad")
        await expect(sales.locator("[data-figure=longest]")).to_have_class("figure level-bad")

        assert daemon.sim.answer(linkedid)  # cleared while the page is open: on top
        await expect(feed).to_have_count(2)
        await expect(feed.first).to_have_class("cleared")
        await expect(feed.first).to_contain_text("Back to normal: waiting time")
        await expect(feed.nth(1)).to_have_class("raised")  # no longer holding
        await page.reload()  # and both on opening again, newest first
        await expect(feed).to_have_count(2)
        await expect(feed.first).to_have_class("cleared")


async def test_a_queue_with_many_abandons_is_not_colored_as_fine(
    browser: Browser, database_url: str, tmp_path: Path
) -> None:
    async with running_daemon(database_url, tmp_path) as daemon:
        page = await signed_in(browser, daemon, "boss", lands_on="/supervisor")
        for n in range(7):  # 4 answered at once, 3 callers who hang up waiting: 43 %
            # (sales has one agent: the calls come one after the other)
            if n % 2:
                await daemon.sim.place_call(
                    f"90532111220{n}", "Kaçan Arayan", "sales", answer_after=None, patience_s=0.1
                )
            else:
                await daemon.sim.place_call(
                    f"90532111220{n}", "Ayşe Yılmaz", "sales", answer_after=0.05, talk_s=0.05
                )
            await asyncio.sleep(0.4)
        sales = page.locator('.queue-card[data-queue="sales"]')
        abandoned = sales.locator("[data-figure=abandoned]")
        service_level = sales.locator("[data-figure=serviceLevel]")
        await expect(abandoned.locator(".value")).to_have_text("43%", timeout=20_000)
        await expect(service_level.locator(".value")).to_have_text("100%")
        await expect(service_level).to_have_class("figure level-good")  # answered fast ...
        await expect(abandoned).to_have_class("figure level-bad")  # ... but 43 % hung up
        await expect(abandoned).to_contain_text("3 of 7 calls · limit 10%")
        await expect(sales).to_have_class("queue-card level-bad")
        await expect(sales.locator(".queue-level")).to_have_text("Off target")
        # The daemon says so too, whether or not a page is open.
        await expect(page.locator('#alert-feed li[data-kind="abandon_rate"]')).to_contain_text(
            "Too many callers hung up waiting"
        )
        support = page.locator('.queue-card[data-queue="support"]')
        await expect(support).to_have_class("queue-card level-good")  # no call, nobody waiting
