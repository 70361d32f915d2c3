"""Helpers for the browser tests."""

from __future__ import annotations

from harness import PASSWORD, Daemon
from playwright.async_api import Browser, Page, expect

# This machine's network is closed: without these flags Chromium spends its start-up trying
# to reach Google's services. --no-sandbox because CI runs as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


async def signed_in(
    browser: Browser, daemon: Daemon, username: str, lands_on: str = "/agent"
) -> Page:
    """A fresh browser profile, signed in, on the page its role lands on, live."""
    page = await (await browser.new_context()).new_page()
    page.set_default_timeout(10_000)
    await page.goto(f"{daemon.url}/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{daemon.url}{lands_on}")
    live = "live" if lands_on == "/agent" else "Asterisk connected"
    await expect(page.locator("#link")).to_have_text(live)
    return page
