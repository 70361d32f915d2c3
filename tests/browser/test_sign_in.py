"""The sign-in page in real Chromium, in Turkish and English: a refusal says why in the
user's language, a right password lands on the role's page; it fits the screen and passes
axe-core."""

from __future__ import annotations

import pytest
from browsing import LOCALES, SCREENS, serious_accessibility_violations, sideways_overflow
from harness import PASSWORD, Daemon
from playwright.async_api import Browser, expect

WRONG = {"tr": "Kullanıcı adı ya da parola yanlış.", "en": "Wrong username or password."}
SUBMIT = {"tr": "Giriş yap", "en": "Sign in"}
USERNAME = {"tr": "Kullanıcı adı", "en": "Username"}
PASSWORD_LABEL = {"tr": "Parola", "en": "Password"}


@pytest.mark.parametrize("screen", sorted(SCREENS))
@pytest.mark.parametrize("language", sorted(LOCALES))
async def test_a_wrong_password_is_explained_then_the_agent_signs_in(
    browser: Browser, daemon: Daemon, language: str, screen: str
) -> None:
    context = await browser.new_context(locale=LOCALES[language], viewport=SCREENS[screen])  # type: ignore[arg-type]
    page = await context.new_page()
    await page.goto(f"{daemon.url}/login")
    await page.get_by_label(USERNAME[language]).fill("agent1")
    await page.get_by_label(PASSWORD_LABEL[language]).fill("not the password")
    await page.get_by_role("button", name=SUBMIT[language]).click()
    await expect(page.get_by_role("alert")).to_have_text(WRONG[language])
    assert await sideways_overflow(page) == 0
    assert await serious_accessibility_violations(page) == []
    await page.get_by_label(PASSWORD_LABEL[language]).fill(PASSWORD)
    await page.get_by_role("button", name=SUBMIT[language]).click()
    await page.wait_for_url(f"{daemon.url}/agent")
    await expect(page.locator(".link-live")).to_be_visible()
