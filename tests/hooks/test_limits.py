"""Hooks over a limit: 429 `limit_reached` with Retry-After, no upstream request, no call."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.support.hooks import Gateway, gateway

HOOKS = """
[agents.sales]
create = { first_message = "Hi!" }

[hooks.new-lead]
agent = "sales"
auth = { scheme = "bearer", token_env = "NEW_LEAD_TOKEN" }
variables = { customer_name = "body.firstname" }

[hooks.vip]
agent = "sales"
auth = { scheme = "bearer", token_env = "NEW_LEAD_TOKEN" }

[limits]
calls_per_hook_per_day = 2

[limits.hooks.vip]
calls_per_day = 3
"""
AUTH = {"Authorization": "Bearer lead-token-0123456789"}


def starts(gw: Gateway) -> int:
    """Requests that would cost something upstream: started calls and created agents."""
    by_endpoint = gw.simulator.stats.by_endpoint
    return int(by_endpoint["POST /v1/calls/web"] + by_endpoint["POST /v1/agents"])


def metric(gw: Gateway, name: str, **labels: str) -> float | None:
    text = httpx.get(f"{gw.url}/metrics").text
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and ",".join(sorted(match.group(1).split(","))) == wanted:
            return float(match.group(2))
    return None


def test_a_hook_over_its_daily_limit_gets_429_and_starts_nothing(tmp_path: Path) -> None:
    with gateway(tmp_path, HOOKS) as gw:
        for name in ("Ada", "Grace"):
            ok = gw.post("new-lead", json={"firstname": name}, headers=AUTH)
            assert ok.status_code == 202, ok.text
        before = starts(gw)

        over = gw.post("new-lead", json={"firstname": "Edsger"}, headers=AUTH)

        assert over.status_code == 429
        error = over.json()["error"]
        assert error["code"] == "limit_reached"
        assert "calls_per_hook_per_day" in error["message"]
        assert "hook 'new-lead'" in error["message"] and "resets at" in error["message"]
        assert 1 <= int(over.headers["Retry-After"]) <= 24 * 3600
        assert starts(gw) == before
        assert gw.count("calls") == 2
        assert len(gw.simulator.calls) == 2
        # Another hook has its own count (and its own, higher, limit).
        for _ in range(3):
            assert gw.post("vip", json={}, headers=AUTH).status_code == 202
        assert gw.post("vip", json={}, headers=AUTH).status_code == 429
        # /metrics shows use against the limits, and the refusals.
        assert (
            metric(gw, "gateway_limit_used", limit="calls_per_hook_per_day", subject="new-lead")
            == 2
        )
        assert (
            metric(gw, "gateway_limit_allowed", limit="calls_per_hook_per_day", subject="vip") == 3
        )
        assert metric(gw, "gateway_limit_refusals_total", limit="calls_per_hook_per_day") == 2


def test_a_refused_request_gives_its_idempotency_key_back(tmp_path: Path) -> None:
    toml = HOOKS.replace("calls_per_hook_per_day = 2", "calls_per_hook_per_day = 0")
    with gateway(tmp_path, toml) as gw:
        headers = {**AUTH, "Idempotency-Key": "lead-51"}
        first = gw.post("new-lead", json={"firstname": "Ada"}, headers=headers)
        again = gw.post("new-lead", json={"firstname": "Ada"}, headers=headers)
        # Not a replayed answer and not "in progress": the refusal recorded nothing.
        assert (first.status_code, again.status_code) == (429, 429)
        assert again.json()["error"]["code"] == "limit_reached"
        assert gw.count("idempotency_keys") == 0
        assert starts(gw) == 0


def test_the_live_call_cap_refuses_while_calls_run(tmp_path: Path) -> None:
    toml = HOOKS.replace("calls_per_hook_per_day = 2", "live_calls = 1")
    with gateway(tmp_path, toml) as gw:
        first = gw.post("new-lead", json={"firstname": "Ada"}, headers=AUTH)
        assert first.status_code == 202
        over = gw.post("vip", json={}, headers=AUTH)
        assert over.status_code == 429
        assert "live_calls" in over.json()["error"]["message"]
        assert int(over.headers["Retry-After"]) >= 1
        assert gw.count("calls") == 1
        assert metric(gw, "gateway_limit_used", limit="live_calls", subject="*") == 1
