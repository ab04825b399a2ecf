"""`make screenshots`: the pictures in the README and the docs, taken from the real UI.

Starts a local-mode gateway (a real `oneinbox-gateway serve` process with the OneInbox
simulator), the fake Slack Web API (`tests/support/fake_slack.py`) and Debian's headless
Chromium; runs a `/voice call` from Slack to its end and a few demo-hook calls; then captures
the join page, the dashboard (overview, calls list, a call, success rates), and the Slack
call card and its thread result (the Block Kit the fake Slack received, drawn by
`tests/screenshots/slack_html.py`).

    python -m tests.screenshots.capture [--out deploy/screenshots] [--quick]

`--quick` runs one call only (the test of this script uses it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, async_playwright

from gateway.store.calls import CallRepository
from gateway.store.database import Database
from gateway.upstream import LOCAL_API_KEY
from tests.screenshots import slack_html
from tests.slack.signing import BOT_TOKEN, SIGNING_SECRET, command_body, signed_headers
from tests.support.browser import CHROMIUM, CHROMIUM_FLAGS
from tests.support.fake_slack import FakeSlack
from tests.support.servers import GatewayProcess, free_port, serve_app, wait_until

OUT = Path(__file__).resolve().parents[2] / "deploy" / "screenshots"
CHANNEL = "C0SALES"
CHANNEL_NAME = "sales"
# Every picture the docs show, by file name.
PICTURES = (
    "dashboard-overview.png",
    "dashboard-calls.png",
    "dashboard-call.png",
    "dashboard-rates.png",
    "join-page.png",
    "join-page-live.png",
    "slack-card.png",
    "slack-thread.png",
)
UNSET = (
    "ONEINBOX_API_KEY",
    "ADMIN_TOKEN",
    "GATEWAY_CONFIG",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
)
VIEWPORT = {"width": 1280, "height": 800}


@dataclass
class Stage:
    """The running gateway and fake Slack of one capture."""

    gateway: GatewayProcess
    fake: FakeSlack
    slack_url: str
    database_url: str
    data_dir: Path

    def sim(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {LOCAL_API_KEY}"}
        url = f"{self.gateway.url}/oneinbox-sim{path}"
        return httpx.request(method, url, headers=headers, timeout=10, **kwargs)

    def slash(self, text: str) -> None:
        body = command_body(text, response_url=self.slack_url + "/response/r1", channel_id=CHANNEL)
        answer = httpx.post(
            f"{self.gateway.url}/slack/events", content=body, headers=signed_headers(body)
        )
        answer.raise_for_status()

    def demo_call(self, name: str) -> str:
        token = (self.data_dir / "demo-hook.token").read_text().strip()
        answer = httpx.post(
            f"{self.gateway.url}/hooks/demo",
            json={"name": name},
            headers={"Authorization": f"Bearer {token}"},
            timeout=15,
        )
        answer.raise_for_status()
        return str(answer.json()["call_id"])

    def state(self, call_id: str) -> str | None:
        async def read() -> str | None:
            db = Database(self.database_url)
            try:
                async with db.session() as session:
                    row = await CallRepository(session).get(call_id)
                    return row.state if row else None
            finally:
                await db.dispose()

        return asyncio.run(read())

    def finish(self, call_id: str, outcome: str) -> None:
        """The participant joins, talks (the simulator's conversation for `outcome`), hangs
        up, and the result is delivered."""
        self.sim("PATCH", "/_sim/config", json={"outcome": outcome}).raise_for_status()
        self.sim("POST", f"/_sim/calls/{call_id}/join").raise_for_status()
        wait_until(lambda: self.state(call_id) == "live", timeout=30, what=f"{call_id} live")
        self.sim("POST", f"/_sim/calls/{call_id}/end", json={}).raise_for_status()
        wait_until(
            lambda: self.state(call_id) == "delivered",
            timeout=60,
            interval=0.2,
            what=f"{call_id} delivered",
        )


@contextmanager
def stage(workdir: Path) -> Iterator[Stage]:
    """The gateway (local mode, demo hooks, Slack pointed at the fake) and the fake Slack."""
    fake = FakeSlack(token=BOT_TOKEN)
    with serve_app(fake.app) as slack:
        port = free_port()
        database_url = f"sqlite+aiosqlite:///{workdir / 'gateway.db'}"
        env = {
            "DATABASE_URL": database_url,
            "DATA_DIR": str(workdir / "data"),
            "GATEWAY_SECRET_KEY": "screenshots-" + uuid.uuid4().hex,
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_URL": slack.url + "/api/",
            "POLL_INTERVAL_SECONDS": "0.3",
            "DELIVERY_SCHEDULE_SCALE": "0.01",
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "warning",
        }
        # Nothing of the caller's own setup leaks in (a GATEWAY_CONFIG, an API key…).
        inherited = {k: v for k, v in os.environ.items() if k not in UNSET}
        process = GatewayProcess({}, port=port, log_path=workdir / "gateway.log", cwd=workdir)
        process.env = {**inherited, **env}
        process.start(timeout=90)
        try:
            yield Stage(process, fake, slack.url, database_url, workdir / "data")
        finally:
            process.stop()


def slack_card(fake: FakeSlack) -> tuple[dict[str, Any], dict[str, Any]]:
    """The card as first posted (join and stop buttons) and as it is now (the result)."""
    posted = next(
        c.args for c in fake.called("chat.postMessage") if c.args.get("channel") == CHANNEL
    )
    now = next(m for m in fake.posts(CHANNEL) if "thread_ts" not in m)
    return {"blocks": posted.get("blocks"), "text": posted.get("text", "")}, now


def call_id_of(card: dict[str, Any]) -> tuple[str, str]:
    """(call id, join URL) from the card's buttons."""
    actions = next(b for b in card["blocks"] if b["type"] == "actions")["elements"]
    call_id = next(e["value"] for e in actions if e["action_id"] == "stop_call")
    join_url = next(e["url"] for e in actions if e["action_id"] == "join_call")
    return str(call_id), str(join_url)


def slack_pages(fake: FakeSlack) -> dict[str, str]:
    """The two Slack pictures as HTML: the fresh card, and the thread with the result."""
    first, now = slack_card(fake)
    when = time.strftime("%H:%M")
    card_page = slack_html.page(CHANNEL_NAME, slack_html.message(first, when=when))
    replies = fake.replies(CHANNEL, now["ts"])
    thread = slack_html.message(now, when=when) + slack_html.replies_divider(len(replies))
    thread += "".join(slack_html.message(r, when=when) for r in replies)
    thread_page = slack_html.page(CHANNEL_NAME, slack_html.message(now, when=when), thread=thread)
    return {"slack-card.png": card_page, "slack-thread.png": thread_page}


async def shoot(page: Page, out: Path, name: str, *, full: bool = True) -> Path:
    path = out / name
    await page.screenshot(path=str(path), full_page=full)
    return path


def run_calls(run: Stage, call_id: str, card_ts: str, *, quick: bool) -> None:
    """End the Slack call (and start a few demo-hook calls, two of them ended too)."""
    others = [] if quick else [run.demo_call(n) for n in ("Grace", "Linus", "Barbara")]
    run.finish(call_id, "Appointment Booked")
    for other, outcome in zip(others, ("Interested", "Voicemail"), strict=False):
        run.finish(other, outcome)  # the third stays under way
    wait_until(lambda: run.fake.replies(CHANNEL, card_ts), timeout=30, what="the thread reply")


async def pictures(run: Stage, out: Path, *, quick: bool) -> list[Path]:
    """Run the calls, then capture every picture into `out`."""
    run.slash('call demo customer_name="Ada"')
    card = wait_until(
        lambda: [m for m in run.fake.posts(CHANNEL) if "thread_ts" not in m],
        timeout=30,
        what="the call card",
    )[0]
    call_id, join_url = call_id_of(card)
    taken: list[Path] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True
        )
        try:
            context = await browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
            page = await context.new_page()
            await page.goto(join_url)
            await page.wait_for_load_state("networkidle")
            taken.append(await shoot(page, out, "join-page.png", full=False))
            # Local mode: joining shows the simulated call and its conversation.
            await page.click("#join")
            await page.wait_for_selector('#call[data-state="live-simulated"]', timeout=30_000)
            await page.wait_for_selector("#transcript li.turn:not(.partial)", timeout=30_000)
            taken.append(await shoot(page, out, "join-page-live.png", full=False))

            await asyncio.to_thread(run_calls, run, call_id, card["ts"], quick=quick)

            await page.goto(run.gateway.url + "/")
            taken.append(await shoot(page, out, "dashboard-overview.png"))
            await page.goto(run.gateway.url + "/dashboard/calls?origin=hook")
            taken.append(await shoot(page, out, "dashboard-calls.png"))
            await page.goto(f"{run.gateway.url}/dashboard/calls/{call_id}")
            taken.append(await shoot(page, out, "dashboard-call.png"))
            await page.goto(run.gateway.url + "/dashboard/rates?window=24h")
            taken.append(await shoot(page, out, "dashboard-rates.png"))

            for name, markup in slack_pages(run.fake).items():
                await page.goto("about:blank")  # not under the dashboard's CSP
                await page.set_content(markup)
                taken.append(await shoot(page, out, name, full=False))
        finally:
            await browser.close()
    return taken


def capture(out: Path, *, quick: bool = False) -> list[Path]:
    """Every picture of `PICTURES`, written into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gw-screenshots-") as tmp, stage(Path(tmp)) as run:
        return asyncio.run(pictures(run, out, quick=quick))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where the PNGs go")
    parser.add_argument("--quick", action="store_true", help="one call only")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"needs Chromium at {CHROMIUM}", file=sys.stderr)
        return 1
    for path in capture(args.out, quick=args.quick):
        print(json.dumps({"screenshot": str(path), "bytes": path.stat().st_size}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
