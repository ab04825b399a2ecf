"""The join page in Debian's headless Chromium, against real gateway processes.

Two gateways: one in local mode, whose page shows a simulated call (no media: the
conversation appears as the simulator speaks it), and one whose OneInbox is a separate
simulator process, as in a deployment, whose page takes the real livekit-client path. The
simulator's `/rtc` socket records the connection (the call goes `in_progress`) but speaks no
LiveKit signalling, so livekit-client's connect fails there: the page must then say so and
keep Leave available. Screenshots of every state land in the test's tmp dir.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from gateway.join.routes import BUNDLE
from tests.join.harness import (
    CallStarter,
    TestCall,
    oneinbox_url,
    rtc_connections,
    upstream_call,
)
from tests.support.browser import CHROMIUM, CHROMIUM_FLAGS
from tests.support.servers import GatewayProcess, wait_until

BASE_FLAGS = [*CHROMIUM_FLAGS, "--use-fake-device-for-media-stream"]
GRANT_MIC = [*BASE_FLAGS, "--use-fake-ui-for-media-stream"]
DENY_MIC = [*BASE_FLAGS, "--deny-permission-prompts"]
PHONE = {"width": 375, "height": 667}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)",
    ),
    pytest.mark.skipif(
        not BUNDLE.exists(),
        reason="the join page's script is not built: run `make frontend` (make test does)",
    ),
]


class Recorder:
    """Everything the browser saw that a token must never be part of."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.urls: list[str] = []
        self.sockets: list[str] = []
        self.console: list[str] = []
        self.bodies: list[str] = []
        page.on("request", lambda request: self.urls.append(request.url))
        page.on("websocket", lambda socket: self.sockets.append(socket.url))
        page.on("console", lambda message: self.console.append(message.text))

    async def snapshot(self, tmp_path: Path, name: str) -> str:
        """Screenshot + page text for one state; the HTML is kept for the token checks."""
        await self.page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
        self.bodies.append(await self.page.content())
        text = await self.page.inner_text("body")
        assert text.strip(), f"{name}: the page rendered no text"
        return text

    async def assert_token_nowhere(self, token: str, gateway_log: Path) -> None:
        """Not in any HTML, page URL, request URL, cookie, console line or log line.

        The one place it belongs is livekit-client's socket to the media server (LiveKit's
        own protocol puts it in that URL); that socket goes to OneInbox, not to a page.
        """
        assert token not in self.page.url
        for html in self.bodies:
            assert token not in html
        for url in self.urls:
            assert token not in url, url
        for url in self.sockets:
            assert "/rtc" in url, url
        for line in self.console:
            assert token not in line
        cookies = await self.page.context.cookies()
        assert all(token not in c["value"] and token not in c["name"] for c in cookies)
        log = gateway_log.read_text()
        assert "join.session_issued" in log  # the log was really captured
        assert token not in log


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with async_playwright() as playwright:
        browsers: list[Browser] = []

        async def launch(args: list[str]) -> Browser:
            instance = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=args, headless=True
            )
            browsers.append(instance)
            return instance

        try:
            yield launch
        finally:
            for instance in browsers:
                await instance.close()


async def phone_page(launch: Any, args: list[str]) -> Page:
    instance = await launch(args)
    context = await instance.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    return await context.new_page()


async def state_of(page: Page) -> str | None:
    return await page.get_attribute("#call", "data-state")


async def wait_state(page: Page, state: str, timeout_ms: int = 30_000) -> None:
    await page.wait_for_selector(f'#call[data-state="{state}"]', timeout=timeout_ms)


async def press_join_with_keyboard(page: Page) -> None:
    """Tab to "Join call" and press Enter: the page works without a mouse."""
    await page.wait_for_selector("#join:not([disabled])")
    for _ in range(6):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement && document.activeElement.id") == "join":
            break
    else:
        pytest.fail("Tab never reached the Join call button")
    await page.keyboard.press("Enter")


async def assert_fits_phone(page: Page) -> None:
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the page scrolls sideways on a phone-sized screen"


def upstream_status(gateway: GatewayProcess, call: TestCall) -> str:
    return str(upstream_call(oneinbox_url(gateway), call.call_id)["status"])


def rtc_of(gateway: GatewayProcess, call: TestCall) -> list[dict[str, object]]:
    return rtc_connections(oneinbox_url(gateway), call.call_id)


async def test_join_connects_with_the_calls_token_then_leave_ends_the_call(
    browser: Any,
    livekit_gateway: GatewayProcess,
    livekit_starter: CallStarter,
    tmp_path: Path,
) -> None:
    gateway = livekit_gateway
    assert gateway.log_path is not None
    gateway_log = gateway.log_path
    call = await livekit_starter.start_call("Ada Lovelace")
    page = await phone_page(browser, GRANT_MIC)
    seen = Recorder(page)

    await page.goto(call.join_url)
    text = await seen.snapshot(tmp_path, "1-ready")
    assert "Call with Ada Lovelace" in text
    assert "Join call" in text
    assert "Local mode" not in text
    await assert_fits_phone(page)

    await press_join_with_keyboard(page)
    await wait_state(page, "connecting", 5_000)
    text = await seen.snapshot(tmp_path, "2-connecting")
    assert "connecting" in text.lower()
    assert await page.is_enabled("#leave")
    # "Join call" went away under the keyboard user's focus: it moved to Leave.
    assert await page.evaluate("document.activeElement.id") == "leave"

    # The simulator saw exactly this call's token, and the call went live upstream.
    records = wait_until(lambda: rtc_of(gateway, call), timeout=15, what="an rtc connection")
    assert {r["token"] for r in records} == {call.token}
    assert all(r["valid"] for r in records)
    wait_until(lambda: upstream_status(gateway, call) == "in_progress", timeout=10)

    # livekit-client gets no LiveKit answer from the simulator: the page says so, plainly.
    await wait_state(page, "voice-failed", 45_000)
    text = await seen.snapshot(tmp_path, "3-voice-failed")
    assert "voice connection failed" in text.lower()
    assert "could not be set up" in text
    assert "Try again" in text
    assert await page.is_visible("#leave") and await page.is_enabled("#leave")
    await assert_fits_phone(page)

    await page.click("#leave")
    await wait_state(page, "ended", 15_000)
    text = await seen.snapshot(tmp_path, "4-ended")
    assert "You can close this tab" in text
    assert not await page.is_visible("#leave")
    wait_until(lambda: upstream_status(gateway, call) == "completed", timeout=10)

    await seen.assert_token_nowhere(call.token, gateway_log)


async def test_refused_microphone_says_what_to_do_and_leave_still_ends_the_call(
    browser: Any,
    livekit_gateway: GatewayProcess,
    livekit_starter: CallStarter,
    tmp_path: Path,
) -> None:
    gateway = livekit_gateway
    call = await livekit_starter.start_call("Grace")
    page = await phone_page(browser, DENY_MIC)
    seen = Recorder(page)
    await page.goto(call.join_url)
    await page.wait_for_selector("#join:not([disabled])")
    await page.click("#join")

    await wait_state(page, "mic-denied", 15_000)
    text = await seen.snapshot(tmp_path, "mic-denied")
    assert "Allow microphone access" in text
    assert await page.is_visible("#retry")
    assert await page.is_enabled("#leave")
    # Nothing joined: no socket reached the simulator and the call did not go live.
    assert rtc_of(gateway, call) == []
    assert upstream_status(gateway, call) != "in_progress"
    # "Try again" asks again (and is refused again, in this browser).
    await page.click("#retry")
    await wait_state(page, "mic-denied", 15_000)
    assert rtc_of(gateway, call) == []

    await page.click("#leave")
    await wait_state(page, "ended", 15_000)
    await seen.snapshot(tmp_path, "mic-denied-ended")
    wait_until(lambda: upstream_status(gateway, call) == "completed", timeout=10)


async def test_an_expired_link_shows_the_expired_page(
    browser: Any,
    gateway: GatewayProcess,
    starter: CallStarter,
    tmp_path: Path,
) -> None:
    call = await starter.start_call("Ada")
    await starter.expire_link(call.link_id)
    page = await phone_page(browser, GRANT_MIC)
    seen = Recorder(page)

    response = await page.goto(call.join_url)
    assert response is not None and response.status == 404
    text = await seen.snapshot(tmp_path, "expired")
    assert "This join link has expired" in text
    assert "Ask whoever sent it for a new link" in text
    assert await page.query_selector("#join") is None
    expired_html = await page.content()

    # An id that never existed gets the very same page.
    unknown = await page.goto(f"{gateway.url}/join/{'x' * 32}")
    assert unknown is not None and unknown.status == 404
    assert await page.content() == expired_html


async def test_a_link_that_expires_while_the_page_is_open_shows_the_expired_state(
    browser: Any,
    gateway: GatewayProcess,
    starter: CallStarter,
    tmp_path: Path,
) -> None:
    call = await starter.start_call("Ada")
    page = await phone_page(browser, GRANT_MIC)
    seen = Recorder(page)
    await page.goto(call.join_url)
    await page.wait_for_selector("#join:not([disabled])")

    await starter.expire_link(call.link_id)
    await page.click("#join")
    await wait_state(page, "expired", 15_000)
    text = await seen.snapshot(tmp_path, "expired-in-page")
    assert "expired" in text.lower()
    assert "new link" in text
    assert rtc_of(gateway, call) == []
    # Only the link expired; the call still runs upstream, so Leave can still end it.
    assert await page.is_enabled("#leave")
    await page.click("#leave")
    await wait_state(page, "ended", 15_000)
    wait_until(lambda: upstream_status(gateway, call) == "completed", timeout=10)


async def test_leave_before_joining_asks_first_then_ends_the_call(
    browser: Any,
    gateway: GatewayProcess,
    starter: CallStarter,
    tmp_path: Path,
) -> None:
    call = await starter.start_call("Ada")
    page = await phone_page(browser, GRANT_MIC)
    seen = Recorder(page)
    await page.goto(call.join_url)
    await page.wait_for_selector("#leave:not([disabled])")
    await page.focus("#leave")
    await page.keyboard.press("Enter")
    await wait_state(page, "confirm-leave", 5_000)
    text = await seen.snapshot(tmp_path, "confirm-leave")
    assert "end the call?" in text.lower() and "ends the call for good" in text
    assert not await page.is_visible("#join")
    # "Keep it" goes back; nothing was ended.
    await page.click("#cancel-leave")
    await wait_state(page, "ready", 5_000)
    assert upstream_status(gateway, call) != "completed"

    await page.click("#leave")
    await wait_state(page, "confirm-leave", 5_000)
    await page.focus("#confirm-leave")
    await page.keyboard.press("Enter")
    await wait_state(page, "ended", 15_000)
    text = await seen.snapshot(tmp_path, "left-before-joining")
    assert "You can close this tab" in text
    wait_until(lambda: upstream_status(gateway, call) == "completed", timeout=10)
    assert rtc_of(gateway, call) == []


async def test_a_local_mode_call_is_simulated_and_shows_the_conversation(
    browser: Any,
    gateway: GatewayProcess,
    starter: CallStarter,
    gateway_log: Path,
    tmp_path: Path,
) -> None:
    call = await starter.start_call("Ada Lovelace")
    page = await phone_page(browser, BASE_FLAGS)  # no microphone needed, none granted
    seen = Recorder(page)
    await page.goto(call.join_url)
    text = await seen.snapshot(tmp_path, "sim-1-ready")
    assert "Local mode" in text and "Join call" in text

    await press_join_with_keyboard(page)
    await wait_state(page, "live-simulated", 15_000)
    # The simulator saw this call's token on its room socket: the call went live upstream.
    records = wait_until(lambda: rtc_of(gateway, call), timeout=15, what="an rtc connection")
    assert {r["token"] for r in records} == {call.token}
    wait_until(lambda: upstream_status(gateway, call) == "in_progress", timeout=10)

    # The conversation appears as the simulated agent speaks: partial words, then the turn.
    await page.wait_for_selector("#transcript li.turn.agent:not(.partial)", timeout=30_000)
    text = await seen.snapshot(tmp_path, "sim-2-live")
    assert "simulated call" in text.lower() and "no audio" in text
    assert "Ada Lovelace:" in text  # the agent's turn, named
    assert "voice connection failed" not in text.lower()

    await page.click("#leave")
    await wait_state(page, "ended", 15_000)
    await seen.snapshot(tmp_path, "sim-3-ended")
    wait_until(lambda: upstream_status(gateway, call) == "completed", timeout=10)
    await seen.assert_token_nowhere(call.token, gateway_log)


async def test_an_open_join_page_notices_the_call_ended_elsewhere(
    browser: Any,
    gateway: GatewayProcess,
    starter: CallStarter,
    tmp_path: Path,
) -> None:
    call = await starter.start_call("Ada")
    page = await phone_page(browser, GRANT_MIC)
    seen = Recorder(page)
    await page.goto(call.join_url)
    await page.wait_for_selector("#join:not([disabled])")
    # Ended from elsewhere (Slack's Stop, the dashboard): the simulator ends the call.
    ended = httpx.post(f"{oneinbox_url(gateway)}/_sim/calls/{call.call_id}/end", timeout=10)
    assert ended.status_code == 200, ended.text
    await wait_state(page, "ended-elsewhere", 30_000)
    text = await seen.snapshot(tmp_path, "ended-elsewhere")
    assert "ended elsewhere" in text
    assert not await page.is_visible("#join") and not await page.is_visible("#leave")
