"""Inbound hooks: the gateway against a minimal durable proxy (the floor), in the same run.

The upstream is the OneInbox simulator, a fresh process for each server (the same program,
the same empty state: see `_simulator`). Measured with wrk at 16
connections (every request its own `Idempotency-Key`, a JSON body, a bearer hook with a
signed-callback destination):

- the floor (`bench/_floor.py`: Starlette + aiohttp + sqlite3, the least a durable keyed
  proxy does) under uvicorn;
- the gateway on SQLite (one worker), on PostgreSQL with one and with two workers
  (PostgreSQL cases need a server at BENCH_DATABASE_URL or TEST_DATABASE_URL, else skipped);
- OneInbox direct (`POST /v1/calls/web` straight at the simulator), for scale.

Each server gets a 2 s warm-up (other keys) before its measured run. Reported: accepted hooks/s
and p50 of each, the gateway ÷ floor ratios (goals: throughput
>= 0.5x, p50 <= 2x), PostgreSQL two workers ÷ one (goal >= 1.5x), lost hooks (a 202 with no
stored call, a non-202, a socket error), the CPU each server process spent per accepted hook
(gateway ÷ floor: steadier than hooks/s, which depend on how busy the machine is; the floor
is bound by the two cores it shares with wrk and the upstream, the gateway by its one), and
the dashboard's p99 while the SQLite gateway runs
hooks at full speed (reads must not starve behind writes): a second run on the same gateway,
so that the ratios compare the gateway and the floor doing the same work. Bounded to about a
minute and a half.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench._postgres import count_calls, drop_database, postgres_base, scratch_database
from bench._support import QUICK, run_wrk, scaled, start_process, stop_process

API_KEY = "oi_sk_bench_0123456789"
TOKEN = "bench-hook-token-0123456789"
ADMIN = "bench-admin-token-0123456789"
CONNECTIONS = 16
DURATION_S = scaled(8)
WARM_UP_S = scaled(2)
ROOT = Path(__file__).resolve().parents[1]
QUIET = {"LOG_LEVEL": "warning", "LOG_FORMAT": "json"}

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
  run = tostring(math.random(1, 1000000000))
end
request = function()
  counter = counter + 1
  return wrk.format("POST", path, {
    ["Authorization"] = auth,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("bench-%%s-%%d-%%d", run, tid, counter),
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


def _wrk(
    url: str, script: Path, pid: int | None = None, upstream: int | None = None
) -> dict[str, Any]:
    """One measured run; with `pid`, also the CPU that server (and its workers) spent on each
    accepted hook, a figure that moves far less with the machine's speed than hooks/s; and
    beside it the CPU per hook of the rest of the machine's work for that run: the upstream
    (`upstream`, the simulator's pid), PostgreSQL's processes and wrk itself."""
    before = _cpu_seconds(pid) if pid is not None else 0.0
    others_before = _others(upstream)
    data = run_wrk(url, script, connections=CONNECTIONS, seconds=DURATION_S)
    data["rps"] = data["accepted"] / (data["duration_us"] / 1e6)
    if pid is not None:
        hooks = max(data["accepted"], 1)
        data["cpu_ms"] = 1000 * (_cpu_seconds(pid) - before) / hooks
        spent = _others(upstream)
        data["others_ms"] = {k: 1000 * (spent[k] - others_before[k]) / hooks for k in spent}
    return data


def _cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of process `pid` and of its children (workers)."""
    import psutil

    process = psutil.Process(pid)
    total = 0.0
    for each in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = each.cpu_times()
            total += times.user + times.system
    return total


def _others(upstream: int | None) -> dict[str, float]:
    """CPU seconds so far of the upstream process, of every PostgreSQL server process, and of
    this process's waited-for children (wrk, once its run has ended)."""
    import resource

    import psutil

    postgres = 0.0
    for each in psutil.process_iter(["name"]):
        if each.info["name"] in ("postgres", "postmaster"):
            with contextlib.suppress(psutil.NoSuchProcess):
                times = each.cpu_times()
                postgres += times.user + times.system
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "upstream": _cpu_seconds(upstream) if upstream is not None else 0.0,
        "postgres": postgres,
        "wrk": children.ru_utime + children.ru_stime,
    }


class DashboardProbe:
    """Fetches the dashboard over and over in a thread, keeping each latency in ms."""

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=10)
        login = self.client.post("/dashboard/login", data={"token": ADMIN})
        assert login.status_code == 303, login.status_code
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            answer = self.client.get("/")
            if answer.status_code == 200:
                self.samples.append((time.perf_counter() - started) * 1000)
            self._stop.wait(0.05)

    def __enter__(self) -> DashboardProbe:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)
        self.client.close()

    def p99(self) -> float:
        ordered = sorted(self.samples)
        if not ordered:
            return float("nan")
        return ordered[max(0, int(len(ordered) * 0.99) - 1)]


def _gateway(
    work: Path,
    name: str,
    env: dict[str, str],
    url: str,
    workers: int,
    upstream: int,
    dashboard: bool,
) -> dict[str, Any]:
    from tests.support.servers import free_port

    port = free_port()
    gw_url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "gateway", "serve", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--workers", str(workers)]
    proc = start_process(
        argv, {**env, "DATABASE_URL": url}, gw_url + "/healthz", work / f"{name}.log"
    )
    try:
        if workers > 1:
            # /healthz answers as soon as one worker is up; wrk's connections would all go to
            # it while the others still start. Wait until every worker serves.
            _wait_for_workers(gw_url, workers)
        script = work / "hook.lua"
        _warm_up(work, gw_url, script)
        before = count_calls(url)
        # Hooks alone first, as the floor runs: the ratios compare like with like.
        result = _wrk(gw_url, script, proc.pid, upstream)
        result["stored"] = count_calls(url) - before
        if dashboard:
            # Then again with the dashboard loaded over and over: do reads starve?
            script = _fresh_keys(work, script)
            before = count_calls(url)
            with DashboardProbe(gw_url) as probe:
                loaded = _wrk(gw_url, script)
            result["loaded_rps"] = loaded["rps"]
            result["loaded_p99_us"] = loaded["p99_us"]
            result["loaded_lost"] = _lost({**loaded, "stored": count_calls(url) - before})
            result["dashboard_p99"] = probe.p99()
            result["dashboard_p50"] = statistics.median(probe.samples or [float("nan")])
            result["dashboard_n"] = len(probe.samples)
    finally:
        stop_process(proc)
    return result


def _fresh_keys(work: Path, script: Path, prefix: str = "again") -> Path:
    """A copy of `script` whose keys differ from the first run's (wrk seeds Lua alike)."""
    again = work / f"{prefix}-{script.name}"
    again.write_text(script.read_text().replace('"bench-%s-', f'"{prefix}-%s-'))
    return again


def _warm_up(work: Path, url: str, script: Path) -> None:
    """Requests with other keys before the measured run, for the floor and the gateway alike:
    start-up costs (connection pools, first-use compilation, caches) are not steady state."""
    run_wrk(url, _fresh_keys(work, script, "warm"), connections=CONNECTIONS, seconds=WARM_UP_S)


def _wait_for_workers(url: str, workers: int, timeout: float = 60.0) -> None:
    """Until `/metrics` counts `workers` worker processes that finished starting."""
    deadline = time.monotonic() + timeout
    seen = 0.0
    while time.monotonic() < deadline:
        for line in httpx.get(url + "/metrics", timeout=10).text.splitlines():
            if line.startswith("gateway_workers_serving "):
                seen = float(line.split()[-1])
        if seen >= workers:
            return
        time.sleep(0.2)
    raise RuntimeError(f"only {seen:g} of {workers} gateway workers started in {timeout:g} s")


@contextlib.contextmanager
def _simulator(work: Path, name: str) -> Iterator[tuple[str, str, int]]:
    """A fresh OneInbox simulator process with one agent: (its URL, the agent's id, its pid).

    Every server measured gets its own: a simulator that has already answered a run's tens of
    thousands of calls keeps them all in memory, and its garbage collector's pauses then show
    in the next server's p99 (measured: 191 ms instead of 26-44 ms after 53,000 earlier calls).
    """
    from tests.support.servers import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    simulator = start_process(
        [
            *(sys.executable, "-m", "gateway", "simulate", "--host", "127.0.0.1"),
            *("--port", str(port), "--api-key", API_KEY),
        ],
        QUIET,
        url + "/",
        work / f"simulator-{name}.log",
    )
    try:
        agent = httpx.post(
            f"{url}/v1/agents",
            json={"name": "bench"},
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=10,
        ).json()["id"]
        yield url, agent, simulator.pid
    finally:
        stop_process(simulator)


@contextlib.contextmanager
def floor_process(work: Path, sim_url: str, agent: str) -> Iterator[tuple[str, int]]:
    """The floor app under uvicorn on the upstream at `sim_url`: (its URL, its pid)."""
    from tests.support.servers import free_port

    port = free_port()
    floor = start_process(
        [
            *(sys.executable, "-m", "uvicorn", "--factory", "bench._floor:app"),
            *("--host", "127.0.0.1", "--port", str(port)),
            *("--log-level", "warning", "--no-access-log"),
        ],
        {
            "PYTHONPATH": str(ROOT),
            "FLOOR_UPSTREAM": sim_url,
            "FLOOR_API_KEY": API_KEY,
            "FLOOR_AGENT": agent,
            "FLOOR_DB": str(work / "floor.db"),
            "FLOOR_TOKEN": TOKEN,
        },
        f"http://127.0.0.1:{port}/healthz",
        work / "floor.log",
    )
    try:
        yield f"http://127.0.0.1:{port}", floor.pid
    finally:
        stop_process(floor)


def _floor(work: Path) -> dict[str, Any]:
    with (
        _simulator(work, "floor") as (sim_url, agent, sim_pid),
        floor_process(work, sim_url, agent) as (url, pid),
    ):
        _warm_up(work, url, work / "hook.lua")
        return _wrk(url, work / "hook.lua", pid, sim_pid)


def _gateway_env(work: Path, name: str, sim_url: str, agent: str) -> dict[str, str]:
    config = work / f"gateway-{name}.toml"
    config.write_text(
        f'[agents.bench]\nid = "{agent}"\n\n'
        "[hooks.bench]\n"
        'agent = "bench"\n'
        'auth = { scheme = "bearer", token_env = "BENCH_HOOK_TOKEN" }\n'
        'variables = { customer_name = "body.name" }\n'
        'notify = [{ callback_url = "http://127.0.0.1:9/receiver", '
        'secret_env = "BENCH_CALLBACK_SECRET" }]\n'
    )
    return {
        **QUIET,
        "DATA_DIR": str(work / f"data-{name}"),
        "GATEWAY_SECRET_KEY": "bench-secret-key-0123456789abcdef",
        "GATEWAY_CONFIG": str(config),
        "ONEINBOX_API_KEY": API_KEY,
        "ONEINBOX_BASE_URL": sim_url,
        "BENCH_HOOK_TOKEN": TOKEN,
        "BENCH_CALLBACK_SECRET": "whsec_" + "YmVuY2gtY2FsbGJhY2stc2VjcmV0LTAxMjM0NTY3",
        "CALLBACK_ALLOW_PRIVATE": "true",
        "ADMIN_TOKEN": ADMIN,
    }


def _measure(work: Path) -> dict[str, Any]:
    found: dict[str, Any] = {}
    _script(work, "hook", "/hooks/bench", f"Bearer {TOKEN}", {"name": "Ada"})
    found["floor"] = _floor(work)
    with _simulator(work, "sqlite") as (sim_url, agent, sim_pid):
        env = _gateway_env(work, "sqlite", sim_url, agent)
        sqlite_url = f"sqlite+aiosqlite:///{work / 'gateway.db'}"
        found["sqlite"] = _gateway(work, "sqlite", env, sqlite_url, 1, sim_pid, dashboard=True)
    postgres = None if QUICK else postgres_base()
    if postgres is not None:
        for workers in (1, 2):
            name = f"pg{workers}"
            url, database = scratch_database(postgres)
            try:
                with _simulator(work, name) as (sim_url, agent, sim_pid):
                    env = _gateway_env(work, name, sim_url, agent)
                    found[name] = _gateway(work, name, env, url, workers, sim_pid, dashboard=False)
            finally:
                drop_database(postgres, database)
    with _simulator(work, "direct") as (sim_url, agent, _):
        direct_body = {"agent_id": agent, "variables": {"customer_name": "Ada"}}
        direct = _script(work, "direct", "/v1/calls/web", f"Bearer {API_KEY}", direct_body)
        found["direct"] = _wrk(sim_url, direct)
    return found


def _lost(result: dict[str, Any]) -> int:
    return int(result["other"] + result["errors"] + max(0, result["accepted"] - result["stored"]))


def _spent(result: dict[str, Any]) -> str:
    """The rest of the machine's CPU per accepted hook in one run, in ms."""
    others = result["others_ms"]
    return ", ".join(f"{name} {others[name]:.3f}" for name in ("upstream", "postgres", "wrk"))


def _machine_bound(one: dict[str, Any], two: dict[str, Any]) -> dict[str, Any]:
    """The highest 2 workers ÷ 1 worker ratio this machine allows, from the CPU every process
    spent per hook in the 2-worker run: with every core busy with nothing else, 2 workers
    could make at most cores ÷ (that CPU per hook) hooks/s. When that is below 1.5 times one
    worker's hooks/s, no gateway change that keeps its own CPU per hook reaches the goal."""
    cores = os.cpu_count() or 1
    per_hook = two["cpu_ms"] + sum(two["others_ms"].values())
    ceiling = cores * 1000 / per_hook
    return {
        "name": "hooks/s PostgreSQL 2 workers ÷ 1 worker: the most this machine allows",
        "value": round(ceiling / max(one["rps"], 1e-9), 2),
        "unit": "ratio",
        "compared_with": f"{cores} cores ÷ {per_hook:.3f} ms of CPU per hook in the 2-worker "
        f"run (gateway {two['cpu_ms']:.3f}, {_spent(two)}) = {ceiling:.0f} hooks/s at most, "
        f"÷ 1 worker's {one['rps']:.0f}/s (gateway {one['cpu_ms']:.3f}, {_spent(one)})",
    }


def run() -> list[dict[str, Any]]:
    """Hooks/s and p50 of the gateway as ratios to the floor's, measured in one run."""
    if shutil.which("wrk") is None:
        return [{"name": "hooks", "value": None, "unit": "skipped: wrk not installed",
                 "compared_with": None}]  # fmt: skip
    sys.path.insert(0, str(ROOT))
    work = Path(tempfile.mkdtemp(prefix="bench-hooks-"))
    try:
        found = _measure(work)
    finally:
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)
    floor, direct = found["floor"], found["direct"]
    floor_note = f"floor {floor['rps']:.0f}/s, p50 {floor['p50_us'] / 1000:.2f} ms"
    rows: list[dict[str, Any]] = [
        {
            "name": "floor: minimal durable proxy hooks/s",
            "value": round(floor["rps"], 1),
            "unit": "hooks/s",
            "compared_with": f"p50 {floor['p50_us'] / 1000:.2f} ms; OneInbox direct "
            f"{direct['rps']:.0f} calls/s, p50 {direct['p50_us'] / 1000:.2f} ms",
        }
    ]
    labels = {"sqlite": "SQLite, 1 worker", "pg1": "PostgreSQL, 1 worker",
              "pg2": "PostgreSQL, 2 workers"}  # fmt: skip
    for key, label in labels.items():
        if key not in found:
            rows.append({"name": f"hooks {label}", "value": None,
                         "unit": "skipped: no PostgreSQL server" if not QUICK else "skipped: quick",
                         "compared_with": None})  # fmt: skip
            continue
        got = found[key]
        rows += [
            {
                "name": f"hooks/s gateway ÷ floor ({label})",
                "value": round(got["rps"] / max(floor["rps"], 1e-9), 3),
                "unit": "ratio",
                "compared_with": f"goal >= 0.5; gateway {got['rps']:.0f}/s; {floor_note}",
            },
            {
                "name": f"hook p50 gateway ÷ floor ({label})",
                "value": round(got["p50_us"] / max(floor["p50_us"], 1), 2),
                "unit": "ratio",
                "compared_with": f"goal <= 2; gateway p50 {got['p50_us'] / 1000:.2f} ms, "
                f"p99 {got['p99_us'] / 1000:.2f} ms",
            },
            {
                "name": f"CPU per hook gateway ÷ floor ({label})",
                "value": round(got["cpu_ms"] / max(floor["cpu_ms"], 1e-9), 2),
                "unit": "ratio",
                "compared_with": f"gateway {got['cpu_ms']:.3f} ms (all workers), floor "
                f"{floor['cpu_ms']:.3f} ms of CPU per accepted hook, server processes only; "
                f"beside the gateway: {_spent(got)}; beside the floor: {_spent(floor)}",
            },
            {
                "name": f"hooks lost ({label})",
                "value": _lost(got),
                "unit": "requests",
                "compared_with": f"goal 0 ({got['accepted']} answered 202, "
                f"{got['stored']} calls stored)",
            },
        ]
    if "pg1" in found and "pg2" in found:
        rows.append(
            {
                "name": "hooks/s PostgreSQL 2 workers ÷ 1 worker",
                "value": round(found["pg2"]["rps"] / max(found["pg1"]["rps"], 1e-9), 2),
                "unit": "ratio",
                "compared_with": "goal >= 1.5 (2 cores shared with wrk and the upstream)",
            }
        )
        rows.append(_machine_bound(found["pg1"], found["pg2"]))
    sqlite = found["sqlite"]
    rows.append(
        {
            "name": "dashboard / p99 while hooks run at full speed",
            "value": round(sqlite["dashboard_p99"], 1),
            "unit": "ms",
            "compared_with": f"p50 {sqlite['dashboard_p50']:.1f} ms over "
            f"{sqlite['dashboard_n']} loads; goal < 300 ms (reads must not starve); "
            f"meanwhile SQLite {sqlite['loaded_rps']:.0f} hooks/s, "
            f"p99 {sqlite['loaded_p99_us'] / 1000:.1f} ms, {sqlite['loaded_lost']} lost",
        }
    )
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
