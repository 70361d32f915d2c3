"""An agent's day in real headless Chromium (Debian's package, driven by Playwright) against
the live daemon and the simulator: pops arrive, are withdrawn or kept, and hostile caller
names stay text."""

from __future__ import annotations

import pytest
from browsing import signed_in
from harness import Daemon
from playwright.async_api import Browser, Locator, Page, expect


def pop(page: Page, caller_name: str) -> Locator:
    return page.locator("article.pop", has=page.locator(".caller-name", has_text=caller_name))


async def test_pop_is_withdrawn_from_the_agent_who_did_not_answer(
    browser: Browser, daemon: Daemon
) -> None:
    ayla = await signed_in(browser, daemon, "agent1")  # SIP/1001
    burak = await signed_in(browser, daemon, "agent2")  # SIP/1002
    linkedid = await daemon.sim.place_call(
        "905301110001", "Zeynep Arslan", "support", consent="granted", answer_after=None, talk_s=60
    )
    for page in (ayla, burak):  # ringall: both phones ring, both see the caller
        card = pop(page, "Zeynep Arslan")
        await expect(card).to_be_visible()
        await expect(card.locator(".caller-number")).to_have_text("905301110001")
        await expect(card.locator(".queue")).to_have_text("support")
        await expect(card.locator(".pop-status")).to_have_text("ringing")
    assert daemon.sim.answer(linkedid, "SIP/1002")
    await expect(pop(ayla, "Zeynep Arslan")).to_have_count(0)
    await expect(pop(burak, "Zeynep Arslan").locator(".pop-status")).to_have_text("on call")
    await daemon.sim.hangup(linkedid)
    await expect(pop(burak, "Zeynep Arslan").locator(".pop-status")).to_contain_text("ended")


@pytest.mark.parametrize(
    "hostile", ['<img src=x onerror="window.__xss=1">', '"><script>window.__xss=2</script>']
)
async def test_hostile_caller_names_render_as_text(
    browser: Browser, daemon: Daemon, hostile: str
) -> None:
    page = await signed_in(browser, daemon, "agent1")
    await daemon.sim.place_call("15551234567", hostile, "support", answer_after=None)
    card = page.locator("article.pop")
    await expect(card.locator(".caller-name")).to_have_text(hostile)
    assert await card.locator("img, script").count() == 0
    assert await page.evaluate("window.__xss") is None


async def test_known_caller_pop_note_promise_then_the_home_page(
    browser: Browser, daemon: Daemon
) -> None:
    from cti.demo import seed_demo_customers
    from cti.keys import DATABASE

    await seed_demo_customers(await daemon.app[DATABASE].pool(), "agent1")
    page = await signed_in(browser, daemon, "agent1")
    linkedid = await daemon.sim.place_call(
        "905321234567",
        "Ayşe Çağrı Yılmaz",
        "support",
        consent="granted",
        answer_after=None,
        talk_s=120,
    )
    card = pop(page, "Ayşe Çağrı Yılmaz")
    customer = card.locator("section.customer")
    await expect(customer.locator("h3")).to_have_text("Ayşe Çağrı Yılmaz")
    await expect(customer.locator(".national-id")).to_have_text("•••••••8901")
    await expect(customer).to_contain_text("1250.00 TRY")
    await expect(customer).to_contain_text("500.00 TRY due")  # the open promise
    await expect(customer).to_contain_text("Will pay 500 TRY on Friday")  # a past call's note
    assert daemon.sim.answer(linkedid, "SIP/1001")
    await expect(card.locator(".pop-status")).to_have_text("on call")
    await customer.get_by_role("button", name="Identity verified").click()
    await expect(customer.locator(".national-id")).to_have_text("12345678901")

    await card.locator(".note select").select_option("Payment promised")
    await card.locator(".note textarea").fill("Will pay the rest <b>today</b>")
    await card.locator(".note button[type=submit]").click()
    await expect(page.locator("#notice")).to_have_text("Note saved.")
    today = await page.evaluate("new Date().toISOString().slice(0, 10)")
    await card.locator(".promise input[name=amount]").fill("200")
    await card.locator(".promise input[name=due_date]").fill(today)
    await card.locator(".promise button[type=submit]").click()
    await expect(page.locator("#notice")).to_have_text("Promise saved.")

    followups = page.locator("#followups")
    await expect(followups).to_contain_text(f"Promise 200.00 TRY due {today}")
    await expect(followups).to_contain_text("Ayşe Çağrı Yılmaz")
    # The seeded promise counts too: the demo seeds it as made by agent1 today.
    await expect(page.locator("#day")).to_contain_text("Promises made2")
