"""A deployment that forgot something fails loudly; TLS, labels, alerts and sandboxing hold."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from gateway.metrics import GatewayMetrics
from tests.deploy.chart import CHART, DEPLOY, by_kind, render_chart, values
from tests.test_cli import run_cli

STANDARD_LABELS = {
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
}


def pod_annotations(overrides: dict[str, Any] | None = None) -> dict[str, str]:
    (deployment,) = by_kind(render_chart(overrides), "Deployment")
    annotations: dict[str, str] = deployment["spec"]["template"]["metadata"]["annotations"]
    return annotations


def test_every_manifest_carries_the_standard_labels() -> None:
    overrides = {
        "ingress": {"enabled": True},
        "autoscaling": {"enabled": True},
        "prometheusRule": {"enabled": True},
        "gatewayToml": "[agents.sales]\n",
    }
    manifests = render_chart(overrides)
    assert len(manifests) == 9
    for manifest in manifests:
        labels = manifest["metadata"]["labels"]
        assert set(labels) >= STANDARD_LABELS, manifest["kind"]
        assert labels["app.kubernetes.io/managed-by"] == "Helm"


def test_a_changed_setting_or_hooks_file_changes_the_pod_checksum() -> None:
    base = pod_annotations()
    assert re.fullmatch(r"[0-9a-f]{64}", base["checksum/config"])
    changed = pod_annotations({"config": {"LOG_LEVEL": "debug"}})
    assert changed["checksum/config"] != base["checksum/config"]
    assert pod_annotations()["checksum/config"] == base["checksum/config"]  # stable
    toml = pod_annotations({"gatewayToml": "[agents.sales]\n"})
    assert toml["checksum/files"] != base["checksum/files"]


def test_the_pods_run_as_their_own_account_without_an_api_token() -> None:
    manifests = render_chart()
    (account,) = by_kind(manifests, "ServiceAccount")
    assert account["automountServiceAccountToken"] is False
    (deployment,) = by_kind(manifests, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    assert pod["automountServiceAccountToken"] is False


def test_the_chart_says_production_so_the_gateway_refuses_local_mode() -> None:
    (config_map,) = [m for m in by_kind(render_chart(), "ConfigMap")]
    assert config_map["data"]["GATEWAY_ENV"] == "production"
    assert config_map["data"]["FORWARDED_ALLOW_IPS"]
    assert "example" not in values()["image"]["repository"]


def test_the_values_schema_accepts_the_defaults_and_refuses_mistakes() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(values(), schema)
    mistakes: list[dict[str, Any]] = [
        {"replicaCount": 0},
        {"config": {"LOG_LEVEL": 3}},
        {"secrets": {"existingSecret": "x", "required": {"DATABASE_URL": "database-url"}}},
        {"service": {"type": "Bogus", "port": 80}},
        {"imagee": {}},
    ]
    for mistake in mistakes:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**values(), **mistake}, schema)


def exposed_metric_names() -> set[str]:
    names: set[str] = set()
    for family in GatewayMetrics().registry.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.add(family.name + "_total")
        if family.type == "histogram":
            names.update(family.name + s for s in ("_bucket", "_count", "_sum"))
    return names


def queried_metrics(expr: str) -> set[str]:
    return set(re.findall(r"\b(gateway_[a-z0-9_]+)", expr))


def test_alert_rules_render_as_a_prometheus_rule_and_query_real_metrics() -> None:
    assert not by_kind(render_chart(), "PrometheusRule")  # off by default
    (rule,) = by_kind(render_chart({"prometheusRule": {"enabled": True}}), "PrometheusRule")
    plain = yaml.safe_load((CHART / "files" / "alerts.yaml").read_text())
    assert rule["spec"] == plain
    rules = [r for group in plain["groups"] for r in group["rules"]]
    assert len(rules) >= 6
    exposed = exposed_metric_names()
    for alert in rules:
        assert {"alert", "expr", "labels", "annotations"} <= set(alert)
        assert alert["labels"]["severity"] in {"warning", "critical"}
        assert queried_metrics(alert["expr"]) <= exposed, alert["alert"]


def test_the_grafana_dashboard_queries_real_metrics() -> None:
    dashboard = json.loads((DEPLOY / "monitoring" / "grafana-dashboard.json").read_text())
    assert dashboard["uid"] == "oneinbox-gateway"
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(exprs) >= 8
    used = set().union(*(queried_metrics(e) for e in exprs))
    assert used and used <= exposed_metric_names(), used - exposed_metric_names()


def test_compose_puts_caddy_with_automatic_tls_in_front() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    caddy = compose["services"]["caddy"]
    assert caddy["image"].startswith("caddy:2")
    assert {"80:80", "443:443"} <= set(caddy["ports"])
    assert "./caddy/Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    caddyfile = (DEPLOY / "caddy" / "Caddyfile").read_text()
    assert "reverse_proxy gateway:8080" in caddyfile
    assert "respond @internal 404" in caddyfile  # /metrics stays inside
    gateway = compose["services"]["gateway"]
    # Published on loopback only: the public way in is TLS through Caddy.
    assert all(port.startswith("127.0.0.1:") for port in gateway["ports"])
    env = gateway["environment"]
    assert env["GATEWAY_ENV"] == "production"
    assert env["PUBLIC_BASE_URL"].startswith("https://")
    subnet = compose["networks"]["edge"]["ipam"]["config"][0]["subnet"]
    assert env["FORWARDED_ALLOW_IPS"] == subnet


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_the_systemd_unit_is_sandboxed(tmp_path: Path) -> None:
    unit = tmp_path / "oneinbox-gateway.service"
    unit.write_text((DEPLOY / "systemd" / "oneinbox-gateway.service").read_text())
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.search(r"Overall exposure level for \S+: ([\d.]+)", result.stdout)
    assert found is not None, result.stdout + result.stderr
    assert float(found.group(1)) <= 2.0, result.stdout


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"GATEWAY_ENV": "production"}, "ONEINBOX_API_KEY"),
        (
            {
                "GATEWAY_ENV": "production",
                "ONEINBOX_API_KEY": "oi_sk_production_key_0123456789",
                "GATEWAY_SECRET_KEY": "",
            },
            "GATEWAY_SECRET_KEY",
        ),
        (
            {
                "GATEWAY_ENV": "production",
                "ONEINBOX_API_KEY": "oi_sk_production_key_0123456789",
            },
            "ADMIN_TOKEN",
        ),
        ({"DATABASE_URL": "postgresql+asyncpg://gw@127.0.0.1:9/gw"}, "ONEINBOX_API_KEY"),
    ],
)
def test_serve_refuses_to_start_half_configured_in_production(
    gateway_env: dict[str, str], env: dict[str, str], named: str
) -> None:
    result = run_cli("serve", "--port", "9", env={**gateway_env, **env})
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {named}: required"), line
    assert "oi_sk_production_key" not in result.stderr


def test_serve_refuses_local_mode_with_several_workers(gateway_env: dict[str, str]) -> None:
    env = {**gateway_env, "DATABASE_URL": "postgresql+asyncpg://gw@127.0.0.1:9/gw"}
    result = run_cli("serve", "--port", "9", "--workers", "2", env=env)
    assert result.returncode == 2
    assert "ONEINBOX_API_KEY: required" in result.stderr
