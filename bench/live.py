"""Live transcripts: transcript events into `POST /webhooks/oneinbox`, against a floor.

While calls are live, OneInbox sends a stream of `transcript.partial` events, several a second
for each call. Measured with wrk at 16 connections over 40 live calls (SQLite, one worker, a
fresh simulator as upstream), each event a turn's text as it grows:

- the floor (`bench/_floor.py`'s `/webhooks/oneinbox`: a token check, the JSON read, one upsert
  of the turn, a 202) under uvicorn;
- the gateway: its webhook route, the event read, the turn stored with its version, the call's
  live feeds marked due;
- the gateway again with hooks at full speed at the same time (16 more connections): live
  calls must not starve new ones, nor new ones the live calls.

Reported: events/s, p50 and p99 of each, the gateway's CPU per event, and hooks/s beside
events/s in the mixed run.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import httpx

from bench import hooks
from bench._support import run_wrk, scaled, start_process, stop_process

CALLS = 40
WARM_UP_S = scaled(2)

LUA = """
local calls = %s
local path = %s
local counter = 0
request = function()
  counter = counter + 1
  local id = calls[(counter %% #calls) + 1]
  local body = string.format(
    '{"event":"transcript.partial","call_id":"%%s","role":"user","text":"so about the %%d",'
    .. '"turn":%%d}', id, counter, math.floor(counter / #calls) %% 50)
  return wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
end
done = function(summary, latency, requests)
  local s = summary.errors
  local bad = s.connect + s.read + s.write + s.timeout + s.status
  io.write(string.format(
    "RESULT {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"p50_us\\": %%d, \\"p99_us\\": %%d, "
    .. "\\"errors\\": %%d, \\"accepted\\": %%d, \\"other\\": %%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    bad, summary.requests - s.status, s.status))
end
"""


def _events_script(work: Path, name: str, calls: list[str], path: str) -> Path:
    script = work / f"{name}.lua"
    listed = "{" + ",".join(json.dumps(c) for c in calls) + "}"
    script.write_text(LUA % (listed, json.dumps(path)))
    return script


def _live_calls(url: str) -> list[str]:
    """Start `CALLS` web calls through the gateway's hook; their ids."""
    ids = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for n in range(CALLS):
            answer = client.post(
                "/hooks/bench",
                json={"name": "Ada"},
                headers={"Authorization": f"Bearer {hooks.TOKEN}", "Idempotency-Key": f"live-{n}"},
            )
            assert answer.status_code == 202, answer.text
            ids.append(answer.json()["call_id"])
    return ids


def _floor(work: Path) -> dict[str, Any]:
    with (
        hooks._simulator(work, "live-floor") as (sim_url, agent, _),
        hooks.floor_process(work, sim_url, agent) as (url, pid),
    ):
        calls = [f"call_floor_{n}" for n in range(CALLS)]
        script = _events_script(
            work, "floor-events", calls, f"/webhooks/oneinbox?token={hooks.TOKEN}"
        )
        run_wrk(url, script, connections=hooks.CONNECTIONS, seconds=WARM_UP_S)
        return hooks._wrk(url, script, pid)


def _gateway(work: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    from gateway.calls.webhooks import webhook_token
    from gateway.settings import Settings
    from tests.support.servers import free_port

    with hooks._simulator(work, "live") as (sim_url, agent, sim_pid):
        env = hooks._gateway_env(work, "live", sim_url, agent)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_process(
            [sys.executable, "-m", "gateway", "serve", "--host", "127.0.0.1", "--port", str(port)],
            {**env, "DATABASE_URL": f"sqlite+aiosqlite:///{work / 'live.db'}"},
            url + "/healthz",
            work / "gateway-live.log",
        )
        try:
            secret = Settings(gateway_secret_key=env["GATEWAY_SECRET_KEY"]).secret_key()
            path = f"/webhooks/oneinbox?token={webhook_token(secret)}"
            script = _events_script(work, "events", _live_calls(url), path)
            run_wrk(url, script, connections=hooks.CONNECTIONS, seconds=WARM_UP_S)
            alone = hooks._wrk(url, script, proc.pid, sim_pid)
            hook_script = hooks._script(
                work, "live-hook", "/hooks/bench", f"Bearer {hooks.TOKEN}", {"name": "Ada"}
            )
            mixed_hooks: dict[str, Any] = {}

            def run_hooks() -> None:
                mixed_hooks.update(hooks._wrk(url, hook_script))

            beside = threading.Thread(target=run_hooks)
            beside.start()
            mixed = hooks._wrk(url, script)
            beside.join()
        finally:
            stop_process(proc)
    return alone, mixed, mixed_hooks


def run() -> list[dict[str, Any]]:
    """Transcript events/s of the gateway beside the floor's, alone and with hooks."""
    if shutil.which("wrk") is None:
        return [{"name": "live", "value": None, "unit": "skipped: wrk not installed",
                 "compared_with": None}]  # fmt: skip
    sys.path.insert(0, str(hooks.ROOT))
    work = Path(tempfile.mkdtemp(prefix="bench-live-"))
    try:
        floor = _floor(work)
        alone, mixed, mixed_hooks = _gateway(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    failed = int(alone["other"] + alone["errors"] + mixed["other"] + mixed["errors"])
    return [
        {
            "name": "transcript events/s, gateway (SQLite)",
            "value": round(alone["rps"], 1),
            "unit": "events/s",
            "compared_with": f"floor {floor['rps']:.0f}/s (ratio "
            f"{alone['rps'] / max(floor['rps'], 1e-9):.2f}); {CALLS} live calls, "
            f"{hooks.CONNECTIONS} connections",
        },
        {
            "name": "transcript event p99, gateway (SQLite)",
            "value": round(alone["p99_us"] / 1000, 2),
            "unit": "ms",
            "compared_with": f"p50 {alone['p50_us'] / 1000:.2f} ms; floor p50 "
            f"{floor['p50_us'] / 1000:.2f} ms, p99 {floor['p99_us'] / 1000:.2f} ms",
        },
        {
            "name": "CPU per transcript event, gateway ÷ floor",
            "value": round(alone["cpu_ms"] / max(floor["cpu_ms"], 1e-9), 2),
            "unit": "ratio",
            "compared_with": f"gateway {alone['cpu_ms']:.3f} ms, floor {floor['cpu_ms']:.3f} ms "
            "of CPU per event, server processes only",
        },
        {
            "name": "hooks/s while transcript events stream",
            "value": round(mixed_hooks["rps"], 1),
            "unit": "hooks/s",
            "compared_with": f"meanwhile {mixed['rps']:.0f} events/s (p99 "
            f"{mixed['p99_us'] / 1000:.1f} ms); hook p99 {mixed_hooks['p99_us'] / 1000:.1f} ms; "
            "16 + 16 connections",
        },
        {
            "name": "transcript events failed",
            "value": failed,
            "unit": "requests",
            "compared_with": f"goal 0 (of {alone['requests'] + mixed['requests']})",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
