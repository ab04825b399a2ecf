"""The dashboard in Debian's headless Chromium, against a real gateway process.

Each page is screenshotted (into the test's tmp dir) and the screenshot is checked to be a
real rendering (a PNG of the page's size, not blank) while the page's text is checked for
its content.
"""

from __future__ import annotations

import asyncio
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, async_playwright

from gateway.store.database import Database
from gateway.store.tables import DeliveryRow, utcnow
from tests.support.browser import CHROMIUM, CHROMIUM_FLAGS
from tests.support.servers import GatewayProcess, gateway_process

FLAGS = CHROMIUM_FLAGS
ADMIN_TOKEN = "dashboard-browser-token-7e1"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)",
    ),
]


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=FLAGS, headless=True
        )
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            yield await context.new_page()
        finally:
            await browser.close()


def png_colours(path: Path) -> tuple[int, int, int]:
    """(width, height, distinct pixel rows) of an RGB(A) PNG, read without Pillow."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour_type = struct.unpack(">IIBB", data[16:26])
    assert depth == 8 and colour_type in (2, 6)
    idat, offset = b"", 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        if kind == b"IDAT":
            idat += data[offset + 8 : offset + 8 + length]
        offset += 12 + length
    raw = zlib.decompress(idat)
    channels = 3 if colour_type == 2 else 4
    stride = width * channels + 1
    # Rows stay filtered (no need to rebuild pixels): a blank page repeats one row, a
    # rendered one has text, borders and charts that make rows differ.
    seen = {raw[row * stride : (row + 1) * stride] for row in range(height)}
    return width, height, len(seen)


async def snapshot(page: Page, tmp_path: Path, name: str, *expected: str) -> str:
    """Screenshot the page, check the image is a real rendering and the text says `expected`."""
    path = tmp_path / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    width, height, variety = png_colours(path)
    assert width == 1280 and height >= 300, (name, width, height)
    assert variety > 40, f"{name}: the screenshot looks blank ({variety} distinct rows)"
    text = await page.inner_text("body")
    for words in expected:
        assert words in text, f"{name}: {words!r} not on the page"
    return text


async def wait_for_state(page: Page, states: set[str], *, timeout: float) -> str:
    """Wait (with a deadline) until the self-refreshing call page shows one of `states`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen = ""
    while loop.time() < deadline:
        try:
            seen = (await page.inner_text("#call-state", timeout=2_000)).strip()
        except PlaywrightError:  # the page is between two refreshes
            seen = ""
        if seen in states:
            return seen
        await asyncio.sleep(0.2)
    raise TimeoutError(f"the call page still says {seen!r} after {timeout}s")


def env_for(gateway_env: dict[str, str], **extra: str) -> dict[str, str]:
    return {**gateway_env, "POLL_INTERVAL_SECONDS": "0.5", "LOG_LEVEL": "warning", **extra}


async def test_try_a_call_in_local_mode_from_start_to_result(
    page: Page, gateway_env: dict[str, str], tmp_path: Path
) -> None:
    with gateway_process(env_for(gateway_env), log_path=tmp_path / "gw.log") as gateway:
        await page.goto(gateway.url + "/")
        await snapshot(
            page,
            tmp_path,
            "overview-local",
            "Local mode",
            "needs no token",
            "Try a call",
            "No calls yet",
        )

        await page.fill("#new_agent", "Front desk")
        await page.click("#start-call")
        await page.wait_for_url("**/dashboard/calls/*")
        text = await snapshot(
            page,
            tmp_path,
            "call-started",
            "started",
            "Front desk",
            "End simulated call",
            "started by dashboard",
        )
        assert "Open the join page" in text
        join_url = await page.get_attribute("#join-link", "href")
        assert join_url is not None and join_url.startswith(gateway.url + "/join/")
        assert httpx.get(join_url).status_code == 200
        # The participant joins (what the join page's media connection does upstream).
        call_id = page.url.rsplit("/", 1)[1]
        joined = httpx.post(
            f"{gateway.url}/oneinbox-sim/_sim/calls/{call_id}/join",
            headers={"Authorization": "Bearer oi_sk_x"},
        )
        assert joined.status_code == 200, joined.text
        await wait_for_state(page, {"live"}, timeout=20)

        await page.click("#end-call")
        await page.wait_for_url("**/dashboard/calls/*")
        # The page refreshes itself until the tracker has the analysis in.
        await wait_for_state(page, {"analyzed", "delivered"}, timeout=30)
        await snapshot(page, tmp_path, "call-ended", "Transcript", "Timeline")
        assert await page.locator("#transcript li").count() > 0
        assert (await page.inner_text("#summary")).strip() != "No summary yet."
        assert await page.locator("#timeline tbody tr").count() >= 4  # started … analyzed

        await page.goto(gateway.url + "/")
        await snapshot(page, tmp_path, "overview-after", "Front desk", "dashboard · try")
        assert await page.locator("#outcome-chart rect").count() >= 1
        assert await page.locator("#hourly-chart rect").count() == 24


async def seed_dead_delivery(database_url: str, call_id: str) -> None:
    db = Database(database_url)
    try:
        async with db.session() as session:
            session.add(
                DeliveryRow(
                    id="dlv_browser_dead",
                    call_id=call_id,
                    destination="callback",
                    destination_key="https://crm.example/hook",
                    config={"url": "https://crm.example/hook"},
                    state="dead",
                    attempts=8,
                    next_attempt_at=None,
                    last_status=500,
                    last_error="HTTP 500 from receiver",
                    created_at=utcnow(),
                )
            )
    finally:
        await db.dispose()


def start_call_through_api(gateway: GatewayProcess) -> str:
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    sim = gateway.url + "/oneinbox-sim/v1/agents"
    created = httpx.post(sim, json={"name": "Ops"}, headers={"Authorization": "Bearer oi_sk_x"})
    assert created.status_code in (200, 201), created.text
    agent_id = created.json()["id"]
    started = httpx.post(gateway.url + "/api/calls", json={"agent": agent_id}, headers=auth)
    assert started.status_code == 201, started.text
    return str(started.json()["call_id"])


async def test_sign_in_then_replay_a_failed_delivery(
    page: Page, gateway_env: dict[str, str], tmp_path: Path
) -> None:
    env = env_for(gateway_env, ADMIN_TOKEN=ADMIN_TOKEN)
    with gateway_process(env, log_path=tmp_path / "gw.log") as gateway:
        call_id = await asyncio.to_thread(start_call_through_api, gateway)
        await seed_dead_delivery(gateway_env["DATABASE_URL"], call_id)

        await page.goto(gateway.url + "/")
        await snapshot(page, tmp_path, "sign-in", "Sign in", "ADMIN_TOKEN")
        await page.fill("#token", "not-the-token")
        await page.click("button[type=submit]")
        await snapshot(page, tmp_path, "sign-in-failed", "That token is not right")

        await page.fill("#token", ADMIN_TOKEN)
        await page.click("button[type=submit]")
        await page.wait_for_url(gateway.url + "/")
        await snapshot(
            page,
            tmp_path,
            "overview",
            "Recent calls",
            "Failed deliveries",
            "dlv_browser_dead",
            "HTTP 500 from receiver",
        )
        cookies: list[Any] = await page.context.cookies()
        (session,) = [c for c in cookies if c["name"] == "gw_session"]
        assert session["httpOnly"] and session["sameSite"] == "Strict"

        await page.click(f"a[href='/dashboard/calls/{call_id}']")
        await snapshot(page, tmp_path, "call", call_id, "Deliveries", "dlv_browser_dead", "Replay")
        await page.click("button.replay")
        await page.wait_for_url(f"**/dashboard/calls/{call_id}")
        text = await snapshot(page, tmp_path, "call-replayed", "dlv_browser_dead")
        assert "replayed by dashboard" in text
