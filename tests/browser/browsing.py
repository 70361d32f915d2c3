"""Helpers for the browser tests."""

from __future__ import annotations

from pathlib import Path

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


SCREENS = {"1366x768": {"width": 1366, "height": 768}, "1920x1080": {"width": 1920, "height": 1080}}
LOCALES = {"tr": "tr-TR", "en": "en-US"}


async def signed_in(
    browser: Browser,
    daemon: Daemon,
    username: str,
    lands_on: str = "/agent",
    language: str = "en",
    screen: str = "1366x768",
) -> Page:
    """A fresh browser profile in ``language`` (the browser's own) on a ``screen``-sized
    window, signed in, on the page its role lands on, live."""
    context = await browser.new_context(locale=LOCALES[language], viewport=SCREENS[screen])  # type: ignore[arg-type]
    page = await context.new_page()
    page.set_default_timeout(10_000)
    await page.goto(f"{daemon.url}/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{daemon.url}{lands_on}")
    await expect(page.locator(".link-live")).to_be_visible()  # the agent's and the wall
    return page


async def sideways_overflow(page: Page) -> int:
    """How many pixels the page is wider than its window (0: no sideways scrolling)."""
    return int(
        await page.evaluate(
            "document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth"
        )
    )


AXE = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"


async def serious_accessibility_violations(page: Page) -> list[str]:
    """axe-core (npm, installed by scripts/setup) run in the page: its serious and critical
    violations, each with the first element it names."""
    # Evaluated through the DevTools protocol: the page's CSP (script-src 'self') stays on.
    await page.evaluate(AXE.read_text(encoding="utf-8"))
    found = await page.evaluate(
        "async () => (await axe.run(document)).violations"
        ".filter((v) => ['serious', 'critical'].includes(v.impact))"
        ".map((v) => `${v.id}: ${v.help} (${v.nodes[0].target.join(' ')})`)"
    )
    return list(found)


async def supervisor_on(
    browser: Browser,
    daemon: Daemon,
    path: str,
    language: str = "en",
    screen: str = "1366x768",
    username: str = "boss",
) -> Page:
    """A supervisor in a fresh browser profile (``language``, ``screen``-sized window),
    signed in, on the panel page at ``path`` (/history, /quality), its top bar drawn."""
    context = await browser.new_context(locale=LOCALES[language], viewport=SCREENS[screen])  # type: ignore[arg-type]
    page = await context.new_page()
    page.set_default_timeout(10_000)
    await page.goto(f"{daemon.url}/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{daemon.url}/supervisor")
    await page.goto(f"{daemon.url}{path}")
    await expect(page.locator("header.top h1")).to_be_visible()
    return page
