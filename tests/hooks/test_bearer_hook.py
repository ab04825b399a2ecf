"""A TOML-configured bearer hook and the local-mode `demo` hook, over real HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.hooks import PUBLIC, gateway

NEW_LEAD = """
[agents.sales]
create = { first_message = "Hi!" }

[hooks.new-lead]
action = "start_web_call"
agent = "sales"
auth = { scheme = "bearer", token_env = "NEW_LEAD_TOKEN" }
variables = { customer_name = "body.firstname" }
metadata = { crm_contact_id = "body.hs_object_id" }
"""
AUTH = {"Authorization": "Bearer lead-token-0123456789"}
LEAD = {"hs_object_id": "51", "firstname": "Ada"}


def test_a_bearer_hook_starts_a_call_with_its_mapped_fields(tmp_path: Path) -> None:
    with gateway(tmp_path, NEW_LEAD) as gw:
        response = gw.post("new-lead", json=LEAD, headers=AUTH)
        assert response.status_code == 202, response.text
        body = response.json()
        assert set(body) == {"call_id", "join_url", "status", "status_url"}
        assert body["status"] == "started"
        assert body["status_url"].startswith(f"{PUBLIC}/status/{body['call_id']}/")
        assert body["join_url"].startswith(f"{PUBLIC}/join/")
        upstream = gw.simulator.calls[body["call_id"]]
        assert upstream.variables == {"customer_name": "Ada"}
        assert upstream.metadata["crm_contact_id"] == "51"
        assert upstream.metadata["gateway_origin"] == "hook"
        assert upstream.metadata["gateway_origin_name"] == "new-lead"
        assert gw.count("calls") == 1


def test_the_demo_hook_starts_a_call_with_the_token_from_the_data_dir(tmp_path: Path) -> None:
    with gateway(tmp_path, None) as gw:
        token = (tmp_path / "data" / "demo-hook.token").read_text().strip()
        banner = "\n".join(gw.app.state.banner_lines)
        assert f"{PUBLIC}/hooks/demo" in banner and token in banner
        ok = gw.post("demo", json={"name": "Ada"}, headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 202, ok.text
        again = gw.post("demo", json={}, headers={"Authorization": f"Bearer {token}"})
        assert again.status_code == 202, again.text
        assert again.json()["call_id"] != ok.json()["call_id"]
        assert gw.count("agents") == 1  # the demo agent, created once on first use
        wrong = gw.post("demo", json={"name": "Ada"}, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert gw.count("calls") == 2


def test_the_demo_hook_keeps_its_token_across_restarts(tmp_path: Path) -> None:
    with gateway(tmp_path, None):
        first = (tmp_path / "data" / "demo-hook.token").read_text()
    with gateway(tmp_path, None) as gw:
        assert (tmp_path / "data" / "demo-hook.token").read_text() == first
        response = gw.post("demo", json={}, headers={"Authorization": f"Bearer {first.strip()}"})
        assert response.status_code == 202


def test_no_demo_hook_when_a_config_file_is_given(tmp_path: Path) -> None:
    with gateway(tmp_path, NEW_LEAD) as gw:
        response = gw.post("demo", json={}, headers=AUTH)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "unknown_hook"


def test_the_curl_in_the_banner_works_as_printed(tmp_path: Path) -> None:
    import shlex

    with gateway(tmp_path, None) as gw:
        line = next(x for x in gw.app.state.banner_lines if "curl" in x)
        words = shlex.split(line)
        url = words[words.index("-X") + 2].replace(PUBLIC, gw.url)
        header = words[words.index("-H") + 1]
        data = words[words.index("-d") + 1]
        name, _, value = header.partition(": ")
        response = httpx.post(
            url, content=data, headers={name: value, "Content-Type": "application/json"}
        )
        assert response.status_code == 202, response.text
        assert response.json()["join_url"]


def test_expressions_see_the_query_and_headers_and_literals(tmp_path: Path) -> None:
    config = """
[agents.sales]
create = {}
[hooks.mapped]
agent_from = "query.agent"
auth = { scheme = "bearer", token_env = "NEW_LEAD_TOKEN" }
variables = { customer_name = "join(' ', [body.first, body.last])", vip = "body.score > `90`" }
metadata = { source = "headers.\\"x-source\\"", crm = "'custom'", tags = "body.tags" }
"""
    with gateway(tmp_path, config) as gw:
        body = {"first": "Ada", "last": "Lovelace", "score": 95, "tags": ["a", "b"]}
        response = gw.post("mapped?agent=sales", json=body, headers={**AUTH, "X-Source": "form"})
        assert response.status_code == 202, response.text
        call = gw.simulator.calls[response.json()["call_id"]]
        assert call.variables == {"customer_name": "Ada Lovelace", "vip": True}
        assert call.metadata["source"] == "form"
        assert call.metadata["crm"] == "custom"
        assert call.metadata["tags"] == ["a", "b"]
        missing = gw.post("mapped", json=body, headers=AUTH)
        assert missing.status_code == 422 and "query.agent" in missing.text
