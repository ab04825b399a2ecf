"""Inbound hooks: accepted hooks/s and p50/p99 through the gateway, beside OneInbox direct.

A simulator runs as its own process (the upstream, over loopback). A gateway process with
one worker and SQLite points at it with a bearer hook. wrk (Debian's package) drives
`POST /hooks/bench` with a Lua script giving every request its own `Idempotency-Key`, then,
in the same run, `POST /v1/calls/web` straight at the simulator. Reported: accepted hooks/s,
p50/p99 of both at 20 connections and p50 at one connection, the p50 ratio (goal: the
gateway adds under 50%), and lost requests (answered 202 but no call stored, or any
non-202, or a socket error). Goal: >= 1,000
accepted hooks/s. Bounded to about half a minute; loopback only.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from bench.support import run_wrk, start_process, stop_process

API_KEY = "oi_sk_bench_0123456789"
TOKEN = "bench-hook-token-0123456789"
CONNECTIONS = 20
DURATION_S = 8
SINGLE_S = 4  # one connection: the overhead per hook without queueing

LUA = """
local path, auth, body = %s, %s, %s
local counter = 0
local threads = {}
local thread_id = 0
setup = function(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
  table.insert(threads, thread)
end
init = function(args)
  accepted = 0
  other = 0
end
request = function()
  counter = counter + 1
  return wrk.format("POST", path, {
    ["Authorization"] = auth,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("bench-%%d-%%d-%%d", tid, counter, os.time()),
  }, body)
end
response = function(status, headers, body)
  if status == 202 or status == 201 then accepted = accepted + 1 else other = other + 1 end
end
done = function(summary, latency, requests)
  local ok, bad = 0, 0
  for _, t in ipairs(threads) do
    ok = ok + t:get("accepted")
    bad = bad + t:get("other")
  end
  local s = summary.errors
  io.write(string.format(
    "RESULT {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"p50_us\\": %%d, \\"p99_us\\": %%d, "
    .. "\\"errors\\": %%d, \\"accepted\\": %%d, \\"other\\": %%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    s.connect + s.read + s.write + s.timeout, ok, bad))
end
"""


def _script(work: Path, name: str, path: str, auth: str, body: dict[str, Any]) -> Path:
    script = work / f"{name}.lua"
    script.write_text(LUA % (json.dumps(path), json.dumps(auth), json.dumps(json.dumps(body))))
    return script


def _wrk(url: str, script: Path, *, connections: int = CONNECTIONS) -> dict[str, Any]:
    seconds = DURATION_S if connections > 1 else SINGLE_S
    data = run_wrk(url, script, connections=connections, seconds=seconds)
    data["rps"] = data["accepted"] / (data["duration_us"] / 1e6)
    return data


def _serve(args: list[str], env: dict[str, str], ready: str, log: Path) -> subprocess.Popen[bytes]:
    return start_process([sys.executable, "-m", "gateway", *args], env, ready, log)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    stop_process(proc)


def _count_calls(database: Path) -> int:
    with sqlite3.connect(database) as conn:
        return int(conn.execute("SELECT count(*) FROM calls").fetchone()[0])


def _measure(
    work: Path,
) -> tuple[dict[str, Any], dict[str, Any], int, dict[str, Any], dict[str, Any]]:
    from tests.support.servers import free_port

    sim_port, gw_port = free_port(), free_port()
    sim_url = f"http://127.0.0.1:{sim_port}"
    quiet = {"LOG_LEVEL": "warning", "LOG_FORMAT": "json"}
    simulator = _serve(
        ["simulate", "--host", "127.0.0.1", "--port", str(sim_port), "--api-key", API_KEY],
        quiet,
        sim_url + "/",
        work / "simulator.log",
    )
    try:
        agent = httpx.post(
            f"{sim_url}/v1/agents",
            json={"name": "bench"},
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=10,
        ).json()["id"]
        (work / "gateway.toml").write_text(
            f'[agents.bench]\nid = "{agent}"\n\n'
            "[hooks.bench]\n"
            'agent = "bench"\n'
            'auth = { scheme = "bearer", token_env = "BENCH_HOOK_TOKEN" }\n'
            'variables = { customer_name = "body.name" }\n'
        )
        database = work / "gateway.db"
        env = {
            **quiet,
            "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
            "DATA_DIR": str(work / "data"),
            "GATEWAY_SECRET_KEY": "bench-secret-key-0123456789abcdef",
            "GATEWAY_CONFIG": str(work / "gateway.toml"),
            "ONEINBOX_API_KEY": API_KEY,
            "ONEINBOX_BASE_URL": sim_url,
            "BENCH_HOOK_TOKEN": TOKEN,
        }
        gw_url = f"http://127.0.0.1:{gw_port}"
        gateway = _serve(
            ["serve", "--host", "127.0.0.1", "--port", str(gw_port)],
            env,
            gw_url + "/healthz",
            work / "gateway.log",
        )
        try:
            hook = _script(work, "hook", "/hooks/bench", f"Bearer {TOKEN}", {"name": "Ada"})
            single = _wrk(gw_url, hook, connections=1)
            before = _count_calls(database)
            through = _wrk(gw_url, hook)
            stored = _count_calls(database) - before
        finally:
            _stop(gateway)
        direct_body = {"agent_id": agent, "variables": {"customer_name": "Ada"}}
        direct_script = _script(work, "direct", "/v1/calls/web", f"Bearer {API_KEY}", direct_body)
        direct_single = _wrk(sim_url, direct_script, connections=1)
        direct = _wrk(sim_url, direct_script)
    finally:
        _stop(simulator)
    return through, direct, stored, single, direct_single


def run() -> list[dict[str, Any]]:
    """Accepted hooks/s and latency through the gateway, against the simulator direct."""
    if shutil.which("wrk") is None:
        return [{"name": "hooks", "value": None, "unit": "skipped: wrk not installed",
                 "compared_with": None}]  # fmt: skip
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    work = Path(tempfile.mkdtemp(prefix="bench-hooks-"))
    through, direct, stored, single, direct_single = _measure(work)
    lost = through["other"] + through["errors"] + max(0, through["accepted"] - stored)
    ratio = through["p50_us"] / max(direct["p50_us"], 1)
    return [
        {
            "name": "hooks accepted/s (1 worker, SQLite)",
            "value": round(through["rps"], 1),
            "unit": "hooks/s",
            "compared_with": f"goal >= 1000; simulator direct {direct['rps']:.0f} calls/s",
        },
        {
            "name": "hook p50",
            "value": round(through["p50_us"] / 1000, 2),
            "unit": "ms",
            "compared_with": f"simulator direct p50 {direct['p50_us'] / 1000:.2f} ms",
        },
        {
            "name": "hook p99",
            "value": round(through["p99_us"] / 1000, 2),
            "unit": "ms",
            "compared_with": f"simulator direct p99 {direct['p99_us'] / 1000:.2f} ms",
        },
        {
            "name": "hook p50 / direct p50",
            "value": round(ratio, 2),
            "unit": "ratio",
            "compared_with": "goal < 1.5 (the gateway adds under 50%)",
        },
        {
            "name": "hook p50, one connection",
            "value": round(single["p50_us"] / 1000, 2),
            "unit": "ms",
            "compared_with": f"simulator direct p50 {direct_single['p50_us'] / 1000:.2f} ms",
        },
        {
            "name": "hooks lost",
            "value": lost,
            "unit": "requests",
            "compared_with": f"goal 0 ({through['accepted']} answered 202, {stored} calls stored)",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
