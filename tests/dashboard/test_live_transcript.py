"""The dashboard's call page streams the transcript live (Server-Sent Events), in Chromium."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, async_playwright

from tests.support.browser import CHROMIUM, CHROMIUM_FLAGS, needs_chromium
from tests.support.servers import gateway_process

SIM_AUTH = {"Authorization": "Bearer oi_sk_x"}


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True
        )
        try:
            yield await (await browser.new_context()).new_page()
        finally:
            await browser.close()


async def until(condition: object, *, timeout: float, what: str) -> None:
    """Await `condition()` until truthy, with a deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


@pytest.mark.browser
@needs_chromium
async def test_the_call_page_shows_turns_as_they_are_spoken(
    page: Page, gateway_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**gateway_env, "POLL_INTERVAL_SECONDS": "0.5", "LOG_LEVEL": "warning"}
    with gateway_process(env, log_path=tmp_path / "gw.log") as gateway:
        sim = gateway.url + "/oneinbox-sim"
        httpx.patch(sim + "/_sim/config", json={"outcome": "Appointment Booked"})
        await page.goto(gateway.url + "/")
        await page.fill("#new_agent", "Front desk")
        await page.click("#start-call")
        await page.wait_for_url("**/dashboard/calls/*")
        call_id = page.url.rsplit("/", 1)[1]
        assert await page.locator("#live-transcript").count() == 1
        joined = httpx.post(f"{sim}/_sim/calls/{call_id}/join", headers=SIM_AUTH)
        assert joined.status_code == 200, joined.text

        items = page.locator("#live-transcript li")
        partial_seen = False

        async def two_turns() -> bool:
            nonlocal partial_seen
            partial_seen = partial_seen or await page.locator("li.partial").count() > 0
            return await items.count() >= 2

        # Without any reload: the turns arrive over the open stream while the call is live.
        await until(two_turns, timeout=20, what="two turns on the page")
        assert (await page.inner_text("#call-state")).strip() == "live"
        record = httpx.get(f"{sim}/v1/calls/{call_id}", headers=SIM_AUTH).json()
        assert record["status"] == "in_progress"
        assert partial_seen, "a turn was on the page while it was being spoken"
        first = (await items.nth(0).inner_text()).strip()
        assert first.startswith("Agent ")

        async def all_final() -> bool:
            count = await items.count()
            return count >= 4 and await page.locator("li.partial").count() == 0

        await until(all_final, timeout=30, what="the whole conversation")
        await page.click("#end-call")
        await page.wait_for_url("**/dashboard/calls/*")

        async def result_in() -> bool:
            return await page.locator("#transcript li").count() > 0

        await until(result_in, timeout=30, what="the final transcript")
        messages = httpx.get(f"{sim}/v1/calls/{call_id}", headers=SIM_AUTH).json()["messages"]
        assert await page.locator("#transcript li").count() == len(messages)


def test_the_stream_needs_a_session_and_a_known_call(
    gateway_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**gateway_env, "ADMIN_TOKEN": "live-stream-admin-token", "LOG_LEVEL": "warning"}
    with gateway_process(env, log_path=tmp_path / "gw.log") as gateway:
        answer = httpx.get(gateway.url + "/dashboard/calls/call_x/transcript")
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "signed_out"
        signed = httpx.Client(base_url=gateway.url)
        login = signed.post("/dashboard/login", data={"token": "live-stream-admin-token"})
        assert login.status_code == 303
        unknown = signed.get("/dashboard/calls/call_x/transcript")
        assert unknown.status_code == 404
        assert json.loads(unknown.text)["error"]["code"] == "unknown_call"
