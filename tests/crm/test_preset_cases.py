"""Every CRM preset's fixture cases, data-driven: one fixture file → one expected call.

Each preset folder (found through the `oneinbox_gateway.hook_presets` entry points) may
hold `fixtures/cases.toml`: suites of a `[hooks.*]` table, the environment it names, how
the sender authenticates, and per fixture file the call it must start (its variables and a
subset of its metadata). Adding a CRM case is adding a fixture and its lines there.
"""

from __future__ import annotations

import contextlib
import importlib.util
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from tests.support.hooks import PUBLIC, Gateway, gateway
from tests.support.signing import basic, hubspot_v3_headers


@dataclass(frozen=True)
class Case:
    crm: str
    suite: int
    hook: dict[str, Any]
    env: dict[str, str]
    auth: dict[str, str]
    fixture: Path
    expected: dict[str, Any]

    @property
    def hook_name(self) -> str:
        return f"{self.crm}-{self.suite}"


def cases() -> list[Case]:
    found: list[Case] = []
    for ep in sorted(entry_points(group="oneinbox_gateway.hook_presets"), key=lambda e: e.name):
        spec = importlib.util.find_spec(ep.module)
        assert spec is not None and spec.origin is not None, ep
        folder = Path(spec.origin).parent / "fixtures"
        path = folder / "cases.toml"
        if not path.exists():
            continue
        for index, suite in enumerate(tomllib.loads(path.read_text())["suite"]):
            for name, expected in suite["cases"].items():
                found.append(
                    Case(
                        crm=ep.name,
                        suite=index,
                        hook=suite["hook"],
                        env=suite.get("env", {}),
                        auth=suite.get("auth", {"scheme": "none"}),
                        fixture=folder / name,
                        expected=expected,
                    )
                )
    return found


CASES = cases()


def config_of(all_cases: list[Case]) -> str:
    lines = ['[agents.sales]\ncreate = { first_message = "Hi!" }\n']
    seen: set[str] = set()
    for case in all_cases:
        if case.hook_name in seen:
            continue
        seen.add(case.hook_name)
        lines.append(f"[hooks.{case.hook_name}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in case.hook.items()]
        lines.append("")
    return "\n".join(lines)


def toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """One gateway serving every suite's hook."""
    with contextlib.ExitStack() as stack:
        monkeypatch = pytest.MonkeyPatch()
        stack.callback(monkeypatch.undo)
        for case in CASES:
            for name, value in case.env.items():
                monkeypatch.setenv(name, value)
        yield stack.enter_context(gateway(tmp_path_factory.mktemp("crm"), config_of(CASES)))


def headers_for(case: Case, body: bytes) -> dict[str, str]:
    kind = "text/xml; charset=utf-8" if case.fixture.suffix == ".xml" else "application/json"
    headers = {"Content-Type": kind}
    auth = case.auth
    if auth["scheme"] == "basic":
        headers.update(basic(auth["user"], auth["password"]))
    elif auth["scheme"] == "bearer":
        headers["Authorization"] = f"Bearer {auth['token']}"
    elif auth["scheme"] == "hubspot_v3":
        url = f"{PUBLIC}/hooks/{case.hook_name}"
        headers.update(hubspot_v3_headers(auth["secret"], "POST", url, body))
    else:
        assert auth["scheme"] == "none", auth
    return headers


def test_every_preset_folder_has_cases() -> None:
    assert {case.crm for case in CASES} >= {"hubspot", "pipedrive", "salesforce"}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.crm}/{c.fixture.name}")
def test_a_fixture_starts_the_expected_call(gw: Gateway, case: Case) -> None:
    body = case.fixture.read_bytes()
    before = set(gw.simulator.calls)
    response = gw.post(case.hook_name, content=body, headers=headers_for(case, body))
    assert response.status_code == case.expected.get("status", 202), response.text
    (call_id,) = set(gw.simulator.calls) - before
    call = gw.simulator.calls[call_id]
    assert call.variables == case.expected["variables"]
    for key, value in case.expected.get("metadata", {}).items():
        assert call.metadata[key] == value, key
