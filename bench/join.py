"""Join page: how fast the page is served, and how soon a browser can press "Join call".

A real gateway process in local mode holds 50 live links. wrk (Debian's package) fetches
`GET /join/{id}` round-robin over them (a store lookup + template render per request) and,
in the same process, `/healthz` as the floor. Then headless Chromium (Debian's package)
opens a link five times and times navigation start → "Join call" enabled (script loaded,
bundle parsed). Goals: page p99 < 250 ms and >= 200 pages/s at 10 connections (a crowd
opening links at once; a person needs one page), ready in the browser < 1 s.
Bounded to about 25 s; loopback only.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench._support import run_wrk, scaled
from tests.support.browser import CHROMIUM, CHROMIUM_FLAGS

CONNECTIONS = 10
DURATION_S = scaled(5)
LINKS = scaled(50, 5)
BROWSER_LOADS = scaled(5)

LUA = """
local paths = %s
local i = 0
request = function()
  i = (i %% #paths) + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  local s = summary.errors
  io.write(string.format(
    "RESULT {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"p50_us\\": %%d, \\"p99_us\\": %%d, "
    .. "\\"errors\\": %%d, \\"non2xx\\": %%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    s.connect + s.read + s.write + s.timeout, s.status))
end
"""


def _wrk(url: str, paths: list[str], script: Path) -> dict[str, Any]:
    script.write_text(LUA % ("{" + ",".join(json.dumps(p) for p in paths) + "}"))
    data = run_wrk(url, script, connections=CONNECTIONS, seconds=DURATION_S)
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    return data


async def _start_links(base_url: str, env: dict[str, str]) -> list[str]:
    from tests.join.harness import CallStarter

    starter = CallStarter(base_url, env["DATABASE_URL"], env["GATEWAY_SECRET_KEY"])
    try:
        calls = [await starter.start_call("Bench") for _ in range(LINKS)]
    finally:
        await starter.aclose()
    return [f"/join/{c.link_id}" for c in calls]


async def _browser_ready_ms(url: str) -> list[float]:
    from playwright.async_api import async_playwright

    timings = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS
        )
        try:
            for _ in range(BROWSER_LOADS):
                page = await browser.new_page()
                started = time.perf_counter()
                await page.goto(url)
                await page.wait_for_selector("#join:not([disabled])", timeout=10_000)
                timings.append((time.perf_counter() - started) * 1000)
                await page.close()
        finally:
            await browser.close()
    return timings


def run() -> list[dict[str, Any]]:
    """Page p50/p99 and req/s beside /healthz, and browser time-to-ready."""
    if shutil.which("wrk") is None:
        return [
            {
                "name": "join page",
                "value": None,
                "unit": "skipped: wrk not installed",
                "compared_with": None,
            }
        ]
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from gateway.join.routes import BUNDLE
    from gateway.logging import configure_logging
    from tests.support.servers import gateway_process

    configure_logging(fmt="json", level="warning")  # the origin side stays quiet

    work = Path(tempfile.mkdtemp(prefix="bench-join-"))
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{work / 'gateway.db'}",
        "DATA_DIR": str(work / "data"),
        "GATEWAY_SECRET_KEY": "bench-" + uuid.uuid4().hex,
        "ONEINBOX_API_KEY": "",
        "LOG_LEVEL": "warning",
        "LOG_FORMAT": "json",
    }
    with gateway_process(env, log_path=work / "gateway.log") as gateway:
        paths = asyncio.run(_start_links(gateway.url, env))
        page = _wrk(gateway.url, paths, work / "join.lua")
        floor = _wrk(gateway.url, ["/healthz"], work / "healthz.lua")
        ready: list[float] | None = None
        if CHROMIUM.exists() and BUNDLE.exists():
            ready = asyncio.run(_browser_ready_ms(gateway.url + paths[0]))
    return _rows(page, floor, ready)


def _rows(
    page: dict[str, Any], floor: dict[str, Any], ready: list[float] | None
) -> list[dict[str, Any]]:
    def ms(us: float) -> float:
        return round(us / 1000, 2)

    rows = [
        {
            "name": "join page p50",
            "value": ms(page["p50_us"]),
            "unit": "ms",
            "compared_with": f"/healthz {ms(floor['p50_us'])} ms ({CONNECTIONS} connections)",
        },
        {
            "name": "join page p99",
            "value": ms(page["p99_us"]),
            "unit": "ms",
            "compared_with": f"/healthz {ms(floor['p99_us'])} ms; goal < 250 ms",
        },
        {
            "name": "join pages/s",
            "value": round(page["rps"]),
            "unit": "req/s",
            "compared_with": f"/healthz {round(floor['rps'])} req/s; goal >= 200",
        },
        {
            "name": "join page failures",
            "value": page["errors"] + page["non2xx"],
            "unit": "requests",
            "compared_with": f"of {page['requests']}",
        },
    ]
    if ready is None:
        rows.append(
            {
                "name": "join page ready in browser",
                "value": None,
                "unit": "skipped: chromium or the bundle missing",
                "compared_with": None,
            }
        )
    else:
        rows.append(
            {
                "name": "join page ready in browser",
                "value": round(statistics.median(ready)),
                "unit": "ms",
                "compared_with": f"median of {len(ready)} loads (max {round(max(ready))}); "
                "goal < 1000 ms",
            }
        )
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
