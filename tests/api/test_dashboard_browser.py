"""The dashboard in a real browser (Debian's chromium, headless, driven by Playwright): sign in,
define a simulation with the live preview, create and start it, and watch it reach 100 %.

``SIMCRM_TEST_SCREENSHOT=1`` saves the final page as ``docs/dashboard.png`` (the README's
picture); without it the test leaves the working tree alone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from tests.api.conftest import Stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"
TAKE_SCREENSHOT = os.environ.get("SIMCRM_TEST_SCREENSHOT") == "1"


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = "no /usr/bin/chromium: `apt-get install -y chromium` (.ci/run does)"
    if os.environ.get("SIMCRM_TEST_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.mark.slow
async def test_a_simulation_runs_to_100_percent_in_the_dashboard(stack: Stack) -> None:
    """A boss signs in with an API key, sees the arrival-curve preview while defining a small
    backfill against the sandbox, creates and starts it, and the page shows 100 % with every
    record created; bad input shows the API's message naming the field. The page is served with
    a Content-Security-Policy it never violates, may not be framed, and keeps the key in the
    tab's session storage only."""
    require_chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 1440, "height": 1100})
            console: list[str] = []
            page.on("console", lambda message: console.append(message.text))
            response = await page.goto(stack.url)
            assert response is not None
            served = await response.all_headers()
            assert "frame-ancestors 'none'" in served["content-security-policy"]
            assert served["x-frame-options"] == "DENY"
            assert served["x-content-type-options"] == "nosniff"
            await page.fill("#api-key", "sk_simcrm_not-a-key")
            await page.click("#sign-in")
            await expect(page.locator("#signin-error")).to_contain_text("not valid")
            await page.fill("#api-key", stack.keys["boss"])
            await page.click("#sign-in")
            await expect(page.locator("#who-role")).to_have_text("boss")
            stored = await page.evaluate(
                "[sessionStorage.getItem('simcrm.apiKey'), localStorage.length]"
            )
            assert stored == [stack.keys["boss"], 0]

            await page.click("#new-sim")
            await page.fill("#f-name", "Dashboard demo")
            await page.fill("#f-records", "0")
            await page.click("#create")
            await expect(page.locator("#create-error")).to_contain_text("total_records")
            await page.fill("#f-records", "60")
            await page.select_option("#f-distribution", "bell")
            await expect(page.locator("#preview-note")).to_contain_text("60 records")
            assert await page.locator("#preview-chart svg rect").count() > 10

            await page.click("#create")
            await expect(page.locator("#d-status")).to_have_text("draft")
            await page.click("#action-start")
            await expect(page.locator("#progress-percent")).to_have_text("100 %", timeout=90_000)
            await expect(page.locator("#d-status")).to_have_text("completed")
            await expect(page.locator("#t-records")).to_have_text("60 / 60")
            await expect(page.locator(".type-row[data-type=contact] .count")).to_have_text(
                "60 / 60"
            )
            await expect(page.locator("#t-breaker")).to_have_text("closed", timeout=10_000)
            await page.click("#replay-dry")
            await expect(page.locator("#replay-result")).to_contain_text("Dry run")
            assert not [text for text in console if "Content Security Policy" in text]
            if TAKE_SCREENSHOT:
                await page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            await browser.close()
    assert sum(stack.sandbox.stats().duplicates.values()) == 0
