"""The browser for browser tests: Debian's chromium, driven by Playwright, never downloaded."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest
from browsing import CHROMIUM_ARGS
from playwright.async_api import Browser, async_playwright


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail(
            "Debian's chromium is not installed; scripts/test installs it "
            "(apt-get install chromium)"
        )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()
