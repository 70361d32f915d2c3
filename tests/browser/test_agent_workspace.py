"""The agent's screen in real headless Chromium (Debian's package, driven by Playwright)
against the live daemon and the simulator, in Turkish and English, at 1366x768 and
1920x1080: the current call on top (ringing, on call, ended), the customer card and the
forms that fit, what is saved shown at once, a reload during a call, hostile caller names as
text, no sideways scrolling and no serious accessibility violation (axe-core)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from browsing import serious_accessibility_violations, sideways_overflow, signed_in
from harness import Daemon, free_port, running_daemon
from playwright.async_api import Browser, Locator, Page, expect

from cti.simulator import OutboundBehaviour


def current_call(page: Page) -> Locator:
    return page.locator("section.current article.call")


async def talking_in_turkish(
    page: Page, daemon: Daemon, number: str, name: str, talk_s: float
) -> tuple[str, Locator]:
    """A support call ringing on the Turkish page of agent1, answered at SIP/1001: its
    Linkedid and its card."""
    linkedid = await daemon.sim.place_call(
        number, name, "support", answer_after=None, talk_s=talk_s
    )
    call = current_call(page)
    await expect(call.locator(".call-phase")).to_have_text("Gelen çağrı")
    assert daemon.sim.answer(linkedid, "SIP/1001")
    await expect(call.locator(".call-phase")).to_have_text("Görüşmede")
    return linkedid, call


async def transfer_targets(call: Locator) -> tuple[Locator, Locator]:
    """The card's transfer form and its list of targets, opened (the targets are asked for
    when the list is opened), with Burak Kaya among them by name."""
    transfer = call.locator("form.transfer")
    target = transfer.get_by_label("Aktarılacak yer")
    await target.focus()
    await expect(target.locator("option[value='agent:SIP/1002']")).to_contain_text("Burak Kaya")
    return transfer, target


async def seed_customers(daemon: Daemon) -> None:
    from cti.demo import seed_demo_customers
    from cti.keys import DATABASE

    await seed_demo_customers(await daemon.app[DATABASE].pool(), "agent1")


async def test_a_ring_answered_elsewhere_leaves_only_the_agent_who_took_it(
    browser: Browser, daemon: Daemon
) -> None:
    ayla = await signed_in(browser, daemon, "agent1")  # SIP/1001
    burak = await signed_in(browser, daemon, "agent2")  # SIP/1002
    linkedid = await daemon.sim.place_call(
        "905301110001", "Zeynep Arslan", "support", consent="granted", answer_after=None, talk_s=60
    )
    for page in (ayla, burak):  # ringall: both phones ring, both see the caller
        call = current_call(page)
        await expect(call.locator(".caller-name")).to_have_text("Zeynep Arslan")
        await expect(call.locator(".caller-number")).to_have_text("0530 111 00 01")
        await expect(call.locator(".call-phase")).to_have_text("Incoming call")
        await expect(call).to_contain_text("Queue: support")
        await expect(call.locator(".timer")).to_contain_text("Waited")
        await expect(page.locator("html[data-ringing=true]")).to_have_count(1)
        # The agent's queues: support has the caller waiting (sales is not theirs).
        await expect(page.locator(".queue-waits")).to_contain_text("support 1 waiting")
        await expect(page.locator(".queue-waits")).not_to_contain_text("sales")
    assert daemon.sim.answer(linkedid, "SIP/1002")
    await expect(current_call(ayla)).to_have_count(0)
    await expect(ayla.locator(".no-call")).to_be_visible()
    await expect(ayla.locator("html[data-ringing=true]")).to_have_count(0)
    call = current_call(burak)
    await expect(call.locator(".call-phase")).to_have_text("On call")
    await expect(call.locator(".timer")).to_contain_text("Talking")
    await expect(call.locator(".consent")).to_contain_text("caller agreed")
    await daemon.sim.hangup(linkedid)
    await expect(call.locator(".call-phase")).to_have_text("Call ended")
    await call.get_by_role("button", name="Done").click()
    await expect(burak.locator(".no-call")).to_be_visible()


@pytest.mark.parametrize(
    "hostile", ['<img src=x onerror="window.__xss=1">', '"><script>window.__xss=2</script>']
)
async def test_hostile_caller_names_render_as_text(
    browser: Browser, daemon: Daemon, hostile: str
) -> None:
    page = await signed_in(browser, daemon, "agent1")
    await daemon.sim.place_call("0015551234567", hostile, "support", answer_after=None)
    call = current_call(page)
    await expect(call.locator(".caller-name")).to_have_text(hostile)
    await expect(call.locator(".caller-number")).to_have_text("+1 555 123 4567")  # abroad: +
    assert await call.locator("img, script").count() == 0
    assert await page.evaluate("window.__xss") is None


async def test_a_known_caller_in_turkish_note_and_promise_show_at_once(
    browser: Browser, daemon: Daemon
) -> None:
    await seed_customers(daemon)
    page = await signed_in(browser, daemon, "agent1", language="tr")
    linkedid = await daemon.sim.place_call(
        "905321234567", "Ayşe Çağrı Yılmaz", "support", consent="granted", answer_after=None,
        talk_s=120,
    )  # fmt: skip
    call = current_call(page)
    await expect(call.locator(".call-phase")).to_have_text("Gelen çağrı")
    customer = call.locator("section.customer")
    await expect(customer.locator("h3")).to_have_text("Ayşe Çağrı Yılmaz")
    await expect(customer.locator(".national-id")).to_have_text("•••••••8901")
    await expect(customer.locator(".debt")).to_have_text("₺1.250,00")
    await expect(customer.locator(".promises")).to_contain_text("₺500,00")
    await expect(customer).to_contain_text("Will pay 500 TRY on Friday")  # a past call's note
    # The forms for a known caller; none to create a customer.
    await expect(call.locator("form.new-customer")).to_have_count(0)
    assert daemon.sim.answer(linkedid, "SIP/1001")
    await expect(call.locator(".call-phase")).to_have_text("Görüşmede")
    await expect(call.locator(".consent")).to_contain_text("arayan onay verdi")
    await customer.get_by_role("button", name="Kimliği doğruladım: numarayı göster").click()
    await expect(customer.locator(".form-status")).to_have_text("Kimlik doğrulandı")
    await expect(customer.locator(".national-id")).to_have_text("12345678901")

    note = call.locator("form.note")
    await note.get_by_label("Sonuç kodu").select_option("Payment promised")
    await note.get_by_label("Not", exact=True).fill("Kalanı <b>bugün</b> ödeyecek")
    await note.get_by_role("button", name="Notu kaydet").click()
    await expect(note.locator(".form-status")).to_have_text("Not kaydedildi.")
    await expect(note.locator(".saved-notes")).to_contain_text("Kalanı <b>bugün</b> ödeyecek")

    promise = call.locator("form.promise")
    due = await page.evaluate(
        "new Date(Date.now() + 7 * 86400000).toISOString().slice(0, 10)"
    )  # a week ahead: never in the past, whatever the day and the time zones
    await promise.get_by_label("Tutar (TRY)").fill("200")
    await promise.get_by_label("Vade tarihi").fill(due)
    await promise.get_by_role("button", name="Sözü kaydet").click()
    await expect(promise.locator(".form-status")).to_have_text("Söz kaydedildi.")
    await expect(customer.locator(".promises li")).to_have_count(2)
    await expect(customer.locator(".promises")).to_contain_text("₺200,00")
    # The seeded promise counts too: the demo seeds it as made by agent1 today.
    figures = page.locator(".day-figures")
    await expect(figures.locator("div", has_text="Alınan söz").locator("dd")).to_have_text("2")


# What the refused save looks like in each language: the phase, the button, the server's
# refusal (in Turkish from the server itself: the panel asks for its user's language).
REFUSED_SAVE = {
    "en": ("On call", "Save note", "write a note or choose a disposition"),
    "tr": ("Görüşmede", "Notu kaydet", "bir not yazın ya da bir sonuç kodu seçin"),
}
LANGUAGE_SWITCH = {"en": "Language", "tr": "Dil"}


@pytest.mark.parametrize("language", ["en", "tr"])
async def test_a_refused_save_is_said_beside_the_form(
    browser: Browser, daemon: Daemon, language: str
) -> None:
    """In the language the agent picked, not the browser's: the panel tells the server."""
    on_call, save, refusal = REFUSED_SAVE[language]
    browsers_own = "en" if language == "tr" else "tr"
    await seed_customers(daemon)
    page = await signed_in(browser, daemon, "agent1", language=browsers_own)
    await page.get_by_label(LANGUAGE_SWITCH[browsers_own]).select_option(language)
    await daemon.sim.place_call("905321234567", "Ayşe", "support", answer_after=0.1, talk_s=60)
    call = current_call(page)
    await expect(call.locator(".call-phase")).to_have_text(on_call)
    note = call.locator("form.note")
    await note.get_by_role("button", name=save).click()  # neither note nor disposition
    await expect(note.locator(".form-status.error")).to_have_text(refusal)


async def test_an_unknown_caller_gets_the_form_to_create_a_customer(
    browser: Browser, daemon: Daemon
) -> None:
    page = await signed_in(browser, daemon, "agent1")
    await daemon.sim.place_call("905339998877", "Yeni Arayan", "support", answer_after=0.1)
    call = current_call(page)
    form = call.locator("form.new-customer")
    await expect(call.locator(".unknown-caller")).to_have_text("No customer has this number.")
    await expect(call.locator("form.promise")).to_have_count(0)  # no customer to promise for
    await expect(form.get_by_label("Phone")).to_have_value("0533 999 88 77")
    await form.get_by_label("Full name").fill("Yeni Arayan")
    await form.get_by_role("button", name="Create customer").click()
    await expect(call.locator("section.customer h3")).to_have_text("Yeni Arayan")
    await expect(call.locator("form.promise")).to_be_visible()


async def test_a_reload_during_a_call_brings_back_the_call_and_its_card(
    browser: Browser, daemon: Daemon
) -> None:
    await seed_customers(daemon)
    page = await signed_in(browser, daemon, "agent1")
    await daemon.sim.place_call("905321234567", "Ayşe", "support", answer_after=0.1, talk_s=120)
    await expect(current_call(page).locator(".call-phase")).to_have_text("On call")
    await page.reload()
    call = current_call(page)
    await expect(call.locator(".call-phase")).to_have_text("On call")
    await expect(call.locator(".timer")).to_contain_text("Talking")
    await expect(call.locator("section.customer h3")).to_have_text("Ayşe Çağrı Yılmaz")


async def test_the_language_can_be_switched_and_stays(browser: Browser, daemon: Daemon) -> None:
    page = await signed_in(browser, daemon, "agent1", language="tr")
    await expect(page.locator(".no-call")).to_have_text("Şu anda çağrı yok. Çağrılar burada çalar.")
    await page.get_by_label("Dil").select_option("en")
    await expect(page.locator(".no-call")).to_have_text("No call right now. Calls ring here.")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await page.reload()
    await expect(page.locator(".no-call")).to_have_text("No call right now. Calls ring here.")


@pytest.mark.parametrize("screen", ["1366x768", "1920x1080"])
@pytest.mark.parametrize("language", ["tr", "en"])
async def test_the_screen_fits_and_passes_axe_while_a_long_named_caller_talks(
    browser: Browser, daemon: Daemon, screen: str, language: str
) -> None:
    await seed_customers(daemon)
    page = await signed_in(browser, daemon, "agent1", language=language, screen=screen)
    long_name = "Ayşegül Çağlayan-Karaosmanoğlu Yıldırımoğulları " * 3
    await daemon.sim.place_call("905321234567", long_name, "support", answer_after=0.1, talk_s=60)
    call = current_call(page)
    await expect(call.locator("section.customer")).to_be_visible()
    await expect(call.locator(".timer")).to_be_visible()
    assert await sideways_overflow(page) == 0
    assert await call.locator(".caller-name").is_visible()
    assert await serious_accessibility_violations(page) == []


async def test_a_customer_is_found_by_number_and_opened_outside_a_call(
    browser: Browser, daemon: Daemon
) -> None:
    await seed_customers(daemon)
    page = await signed_in(browser, daemon, "agent1", language="tr")
    search = page.get_by_role("search")
    await search.get_by_label("Müşteri ara").fill("0532 123 45 67")
    await search.get_by_role("button", name="Ara").click()
    results = page.locator(".search-results")
    await expect(results.locator("li")).to_have_count(1)
    await expect(results).to_contain_text("0532 123 45 67")
    await expect(results).to_contain_text("•••••••8901")
    await results.get_by_role("button", name="Ayşe Çağrı Yılmaz").click()
    card = page.locator(".search-card section.customer")
    await expect(card.locator("h3")).to_have_text("Ayşe Çağrı Yılmaz")
    await expect(card.locator(".promises")).to_contain_text("₺500,00")
    # Verifying the caller needs a call; calling them does not.
    await expect(card.get_by_role("button")).to_have_text(["0532 123 45 67 numarasını ara"])
    await page.get_by_role("button", name="Sonuçlara dön").click()
    await expect(page.locator(".day-figures")).to_be_visible()
    await search.get_by_label("Müşteri ara").fill("ay")
    await search.get_by_role("button", name="Ara").click()
    await expect(page.locator(".search [role=alert]")).to_contain_text(
        "bir adın en az üç harfini ya da bir numara yazın"  # the server's refusal, in Turkish
    )


async def test_wrap_up_counts_down_and_ready_waits_for_the_required_disposition(
    browser: Browser, database_url: str, tmp_path: Path
) -> None:
    async with running_daemon(
        database_url, tmp_path, center_wrapup_s=45, center_disposition_required=("support",)
    ) as daemon:
        page = await signed_in(browser, daemon, "agent1")
        linkedid = await daemon.sim.place_call("905339998877", "Ali", "support", answer_after=0.1)
        call = current_call(page)
        await expect(call.locator(".call-phase")).to_have_text("On call")
        note = call.locator("form.note")
        await note.get_by_label("Note", exact=True).fill("Asked about the invoice")
        await note.get_by_role("button", name="Save note").click()
        await expect(note.locator(".saved-notes")).to_contain_text("Asked about the invoice")
        await daemon.sim.hangup(linkedid)
        await expect(page.locator(".state-controls .badge")).to_contain_text("Wrap-up")
        await expect(call.locator(".wrap-up")).to_contain_text(
            re.compile(r"Wrap-up: 0:[0-4]\d left")
        )
        # In wrap-up the note comes first, with what was saved during the call.
        first_form = call.locator("form").first
        await expect(first_form).to_have_class("note")
        await expect(first_form.locator(".saved-notes")).to_contain_text("Asked about the invoice")
        # The queue needs a disposition: Ready is refused, and the page says why.
        await page.get_by_role("button", name="Ready").click()
        await expect(page.locator(".page-error")).to_contain_text("choose a disposition")
        label = "Disposition (required in this queue)"
        await first_form.get_by_label(label).select_option("Resolved")
        await first_form.get_by_role("button", name="Save note").click()
        await expect(first_form.locator(".saved-notes")).to_contain_text("Resolved")
        await page.get_by_role("button", name="Ready").click()
        await expect(page.locator(".state-controls .badge")).to_contain_text("Ready")
        await expect(call.locator(".wrap-up")).to_have_count(0)


async def test_a_crm_that_cannot_be_reached_is_said_in_the_agents_language(
    browser: Browser, database_url: str, tmp_path: Path
) -> None:
    # Nothing listens on the CRM's port: the lookup fails at once, after the pop is shown.
    crm_url = f"http://127.0.0.1:{free_port()}/lookup?phone={{number}}"
    async with running_daemon(database_url, tmp_path, crm_url=crm_url) as daemon:
        page = await signed_in(browser, daemon, "agent1", language="tr")
        await daemon.sim.place_call("905339998877", "Ali", "support", answer_after=None)
        call = current_call(page)
        await expect(call.locator(".call-phase")).to_have_text("Gelen çağrı")
        await expect(call.locator(".crm")).to_have_text("CRM'e ulaşılamadı")


async def test_the_agent_transfers_a_call_to_a_queue_and_hangs_up_another(
    browser: Browser, daemon: Daemon
) -> None:
    page = await signed_in(browser, daemon, "agent1", language="tr")
    linkedid, call = await talking_in_turkish(page, daemon, "905301110002", "Deniz Ak", 60)
    transfer, target = await transfer_targets(call)
    await expect(target.locator("option[value='queue:sales']")).to_have_count(1)
    await target.select_option("queue:sales")
    await transfer.get_by_role("button", name="Aktar").click()
    # Ayla's part is over (her leg has gone); the caller waits in sales, where 1003 rings.
    await expect(call.locator(".call-phase")).to_have_text("Çağrı bitti")
    await expect(call.locator(".call-facts")).to_contain_text("Bitti: aktarıldı")
    while not daemon.sim.answer(linkedid, "SIP/1003"):
        await asyncio.sleep(0.05)
    await daemon.sim.hangup(linkedid)

    await call.get_by_role("button", name="Tamam").click()
    await expect(page.locator(".no-call")).to_be_visible()
    second = await daemon.sim.place_call("905301110003", "Ece Tan", "support", answer_after=None)
    call = current_call(page)
    await expect(call.locator(".caller-name")).to_have_text("Ece Tan")
    assert daemon.sim.answer(second, "SIP/1001")
    await expect(call.locator(".call-phase")).to_have_text("Görüşmede")
    await call.get_by_role("button", name="Kapat").press("Enter")  # keyboard use
    await expect(call.locator(".call-phase")).to_have_text("Çağrı bitti")


async def test_the_agent_calls_a_customer_from_their_page(browser: Browser, daemon: Daemon) -> None:
    await seed_customers(daemon)
    daemon.sim.set_customer("905321234567", OutboundBehaviour(outcome="answer", answer_after_s=1.0))
    page = await signed_in(browser, daemon, "agent1", language="tr")
    search = page.get_by_role("search")
    await search.get_by_label("Müşteri ara").fill("çağrı")
    await search.get_by_role("button", name="Ara").click()
    await page.locator(".search-results").get_by_role("button", name="Ayşe Çağrı Yılmaz").click()
    card = page.locator(".search-card section.customer")
    await card.get_by_role("button", name="0532 123 45 67 numarasını ara").press("Enter")
    await expect(card.locator(".dial [role=status]")).to_contain_text("Telefonunuz çalıyor")
    # Her own phone rings first (the simulator's answers at once), then the customer's; the
    # card on top is the customer's, as for a call that came in.
    call = current_call(page)
    await expect(call.locator(".caller-name")).to_have_text("Ayşe Çağrı Yılmaz")
    await expect(call.locator(".call-facts")).to_contain_text("Giden arama")
    await expect(call.locator(".call-phase")).to_have_text("Görüşmede")
    await expect(call.locator(".consent")).to_contain_text("onay verdi")  # the notice, implied
    await expect(call.locator("section.customer h3")).to_have_text("Ayşe Çağrı Yılmaz")
    await call.get_by_role("button", name="Kapat").click()
    await expect(call.locator(".call-phase")).to_have_text("Çağrı bitti")
    await expect(call.locator(".call-facts")).to_contain_text("Bitti: yanıtlandı")
    assert await sideways_overflow(page) == 0
    assert await serious_accessibility_violations(page) == []


async def test_the_agent_consults_a_colleague_then_hands_the_call_over(
    browser: Browser, daemon: Daemon
) -> None:
    page = await signed_in(browser, daemon, "agent1", language="tr")
    colleague = await signed_in(browser, daemon, "agent2", language="en")
    linkedid, call = await talking_in_turkish(page, daemon, "905301110004", "Derya Kılıç", 120)
    transfer, target = await transfer_targets(call)
    await target.select_option("agent:SIP/1002")
    await transfer.get_by_role("button", name="Önce görüş").click()
    await expect(call.locator(".consulting")).to_contain_text("Burak Kaya ile görüşürken")
    # Burak's screen shows the caller while his phone rings for the consultation (dialled
    # once Asterisk's transferdigittimeout, 2 s, has passed).
    theirs = current_call(colleague)
    await expect(theirs.locator(".caller-name")).to_have_text("Derya Kılıç", timeout=15_000)
    while not daemon.sim.answer(linkedid, "SIP/1002"):
        await asyncio.sleep(0.05)
    await expect(theirs.locator(".call-phase")).to_have_text("On call")
    await call.get_by_role("button", name="Aktarımı tamamla").click()
    await expect(call.locator(".call-facts")).to_contain_text("Bitti: aktarıldı")
    await expect(theirs.locator(".call-phase")).to_have_text("On call")
    assert await serious_accessibility_violations(page) == []
    await daemon.sim.hangup(linkedid)
    await expect(theirs.locator(".call-phase")).to_have_text("Call ended")
