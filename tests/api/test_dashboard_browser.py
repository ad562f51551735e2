"""The dashboard in a real browser (Debian's chromium, headless, driven by Playwright): sign in,
define a simulation with the live preview, create and start it, and watch it reach 100 %; its
segments with their counts, the dead-letter summary, purge and limiter reset; the token form.

``SIMCRM_TEST_SCREENSHOT=1`` saves the final page as ``docs/dashboard.png`` (the README's
picture); without it the test leaves the working tree alone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from engine.crm import ObjectType
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
TOKEN = "pat-na1-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b7415"
SEGMENT_SUMS = """() => {
  const sum = (name) => [...document.querySelectorAll(`#segments-rows td.${name}`)]
    .reduce((total, cell) => total + Number(cell.textContent.replaceAll(",", "")), 0);
  return [sum("records"), sum("scheduled"), sum("created"), sum("settled")];
}"""


@pytest.fixture
def hubspot_is_sandbox() -> bool:
    """The API checks HubSpot tokens with the sandbox, so the token form can store one."""
    return True


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
    tab's session storage only. The segments view
    counts every record queued, created and settled. Notes the CRM refuses die: the summary
    across simulations lists them and leads to the simulation's dead letters, where a purge
    shows its dry run first, asks before deleting and deletes them; the limiter reset asks and
    reports."""
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
            await expect(page.locator("#d-status")).to_have_text("running")
            # Only now: a start checks the account, and refuses one that cannot take notes.
            stack.sandbox.reconfigure(denied_types=(ObjectType.NOTE,))
            await expect(page.locator("#progress-percent")).to_have_text("100 %", timeout=90_000)
            await expect(page.locator("#d-status")).to_have_text("completed")
            await expect(page.locator("#t-records")).to_have_text("60 / 60")
            await expect(page.locator(".type-row[data-type=contact] .count")).to_have_text(
                "60 / 60"
            )
            await expect(page.locator("#t-breaker")).to_have_text("closed", timeout=10_000)
            await page.click("#replay-dry")
            await expect(page.locator("#replay-result")).to_contain_text("Dry run")
            await page.wait_for_function(f"() => ({SEGMENT_SUMS})()[3] === 60", timeout=15_000)
            assert await page.evaluate(f"({SEGMENT_SUMS})()") == [60, 60, 60, 60]
            assert await page.locator("#segments-rows tr").count() > 1
            assert not [text for text in console if "Content Security Policy" in text]
            if TAKE_SCREENSHOT:
                await page.screenshot(path=str(SCREENSHOT), full_page=True)
            await dead_letters_summary_purge_and_limiter(page)
        finally:
            await browser.close()
    assert sum(stack.sandbox.stats().duplicates.values()) == 0


async def dead_letters_summary_purge_and_limiter(page: Page) -> None:
    sim_id = (await page.locator("#d-title").text_content() or "").split()[0].lstrip("#")
    await expect(page.locator("#dlq-counts")).to_contain_text("auth:", timeout=10_000)
    dead = int((await page.locator("#t-dead").text_content() or "0").replace(",", ""))
    assert dead > 0

    await page.click("#open-dlq-summary")
    row = page.locator(f"#dlq-summary-rows tr[data-sim='{sim_id}']")
    await expect(row).to_contain_text(f"auth {dead}")
    await expect(row).to_contain_text("Dashboard demo")
    await row.locator("a.dlq-link").click()
    await expect(page.locator("#dlq-card")).to_be_visible()
    await expect(page.locator("#d-title")).to_contain_text(f"#{sim_id}")

    await expect(page.locator("#purge-run")).to_be_hidden()
    await page.click("#purge-dry")
    await expect(page.locator("#purge-result")).to_have_text(
        f"Dry run: {dead} dead letters would be purged (auth {dead})."
    )
    await page.click("#purge-run")
    await expect(page.locator("#confirm-dialog")).to_contain_text(f"Delete {dead} dead letters")
    await page.click("#confirm-cancel")
    await expect(page.locator("#purge-result")).to_contain_text("nothing was deleted")
    await expect(page.locator("#dlq-counts")).to_contain_text(f"auth: {dead}")
    await page.click("#purge-run")
    await page.click("#confirm-ok")
    await expect(page.locator("#purge-result")).to_have_text(f"Purged {dead} dead letters.")
    await expect(page.locator("#dlq-counts")).to_have_text("none")

    await expect(page.locator("#limiter-state")).to_contain_text("HubSpot account")
    await page.click("#limits-reset")
    await expect(page.locator("#confirm-dialog")).to_contain_text("Reset the rate limiter")
    await page.click("#confirm-ok")
    await expect(page.locator("#limits-result")).to_contain_text("was reset")

    await page.click("#open-dlq-summary")
    await expect(page.locator("#dlq-summary-empty")).to_be_visible()


@pytest.mark.slow
async def test_the_token_form_stores_shows_masked_and_removes(stack: Stack) -> None:
    """A member stores a HubSpot token through the form (checked with HubSpot): it is listed by
    its last four characters only, appears nowhere on the page, and is removed after a confirm."""
    require_chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.goto(stack.url)
            await page.fill("#api-key", stack.keys["member"])
            await page.click("#sign-in")
            await expect(page.locator("#who-role")).to_have_text("member")
            await expect(page.locator("#open-dlq-summary")).to_be_hidden()

            await page.click("#open-token")
            await expect(page.locator("#token-empty")).to_be_visible()
            await expect(page.locator("#token-remove")).to_be_disabled()
            await page.fill("#token-input", "not a token")
            await page.click("#token-save")
            await expect(page.locator("#token-error")).to_contain_text("token")
            await page.fill("#token-input", TOKEN)
            await page.click("#token-save")
            await expect(page.locator("#token-result")).to_contain_text("HubSpot accepted")
            item = page.locator("#token-list .token-item")
            await expect(item.locator("code")).to_have_text("••••••••7415")
            await expect(item).to_contain_text("HubSpot account 62515000")
            await expect(page.locator("#token-input")).to_have_value("")
            assert TOKEN not in await page.content()

            await page.reload()  # a stored token is listed again, still masked
            await expect(page.locator("#who-role")).to_have_text("member")
            await page.click("#open-token")
            await expect(item.locator("code")).to_have_text("••••••••7415")
            assert TOKEN not in await page.content()

            await page.click("#token-remove")
            await expect(page.locator("#confirm-dialog")).to_contain_text("Remove your HubSpot")
            await page.click("#confirm-ok")
            await expect(page.locator("#token-result")).to_have_text("Removed your HubSpot token.")
            await expect(page.locator("#token-empty")).to_be_visible()
            await expect(item).to_have_count(0)
        finally:
            await browser.close()
