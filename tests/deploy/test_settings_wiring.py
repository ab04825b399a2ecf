"""Every setting the app reads is wired through .env.example, compose and the Helm chart."""

from __future__ import annotations

import re
import tomllib

import yaml

from gateway.config import load_config
from gateway.settings import load_settings
from tests.deploy.chart import CHART, DEPLOY, by_kind, render_chart, values
from tests.deploy.settings_names import all_settings, secret_settings

ENV_LINE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)


def env_example_names() -> set[str]:
    return set(ENV_LINE.findall((DEPLOY / ".env.example").read_text()))


def test_the_settings_list_is_what_the_app_reads() -> None:
    names = all_settings()
    assert {"ONEINBOX_API_KEY", "DATABASE_URL", "ADMIN_TOKEN", "GATEWAY_SECRET_KEY"} <= names
    assert {"ONEINBOX_API_KEY", "ADMIN_TOKEN", "SLACK_BOT_TOKEN"} <= secret_settings()


# Read by compose from the same deploy/.env for its own interpolation, not by the gateway.
COMPOSE_VARIABLES = {"GATEWAY_DOMAIN", "ACME_EMAIL", "POSTGRES_PASSWORD", "GATEWAY_PORT"}


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    listed = env_example_names() - COMPOSE_VARIABLES
    assert listed == all_settings(), (
        f"missing: {sorted(all_settings() - listed)}; unknown: {sorted(listed - all_settings())}"
    )


def test_env_example_sets_nothing_by_default() -> None:
    # An empty secret counts as set (e.g. SLACK_SIGNING_SECRET= would look configured).
    text = (DEPLOY / ".env.example").read_text()
    assert re.findall(r"^[A-Z][A-Z0-9_]*=", text, re.MULTILINE) == []


def test_compose_wires_every_setting_through_the_env_file_and_postgres() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    gateway = compose["services"]["gateway"]
    assert [entry["path"] for entry in gateway["env_file"]] == [".env"]  # .env.example's copy
    environment = gateway["environment"]
    assert set(environment) <= all_settings()
    url = re.sub(r"\$\{(\w+):-([^}]*)\}", r"\2", environment["DATABASE_URL"])
    assert url.startswith("postgresql+asyncpg://") and "@postgres:5432/" in url
    load_settings(database_url=url, gateway_secret_key="x" * 32)  # a URL the app accepts
    postgres = compose["services"]["postgres"]
    assert postgres["image"].startswith("postgres:16")
    assert gateway["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert gateway["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (DEPLOY / gateway["build"]["context"] / gateway["build"]["dockerfile"]).exists()


def test_compose_has_a_commented_second_replica_sharing_the_same_settings() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    replica = re.search(r"^  # gateway-2:\n((?:  #.*\n)+)", text, re.MULTILINE)
    assert replica is not None
    uncommented = "services:\n  gateway-2:\n" + re.sub(
        r"^  # ?", "  ", replica.group(1), flags=re.M
    )
    parsed = yaml.safe_load(uncommented.replace("<<: *gateway", "image: x"))
    assert parsed["services"]["gateway-2"]["ports"] == ["127.0.0.1:8081:8080"]
    assert "<<: *gateway" in replica.group(1)


def test_compose_mounts_a_config_file_the_gateway_accepts() -> None:
    config = DEPLOY / "gateway.toml"
    tomllib.loads(config.read_text())
    load_config(config)


def test_helm_values_wire_every_setting_as_config_or_secret_reference() -> None:
    chart_values = values()
    config = set(chart_values["config"])
    secrets = set(chart_values["secrets"]["required"]) | set(chart_values["secrets"]["optional"])
    # GATEWAY_CONFIG: set when gatewayToml is; GATEWAY_ENV: always production under the chart.
    wired = config | secrets | {"GATEWAY_CONFIG", "GATEWAY_ENV"}
    assert wired == all_settings(), (
        f"missing: {sorted(all_settings() - wired)}; unknown: {sorted(wired - all_settings())}"
    )
    assert secret_settings() <= secrets, "a secret must come from a Secret, not the ConfigMap"
    assert not secret_settings() & config
    assert "DATABASE_URL" in secrets  # it carries the database password


def test_helm_config_values_are_values_the_gateway_accepts() -> None:
    (config_map,) = [m for m in render_chart() if m["kind"] == "ConfigMap"]
    data = config_map["data"]
    assert all(isinstance(value, str) for value in data.values())
    overrides = {name.lower(): value for name, value in data.items()}
    settings = load_settings(**overrides, gateway_secret_key="x" * 32)
    assert settings.public_base_url == values()["config"]["PUBLIC_BASE_URL"]
    # Empty values stay out of the ConfigMap: unset means the gateway's default.
    assert "SLACK_CLIENT_ID" not in data and "JOIN_URL_TEMPLATE" not in data


def test_every_secret_setting_is_a_secret_key_ref_in_every_container() -> None:
    (deployment,) = by_kind(render_chart(), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    containers = pod["containers"] + pod.get("initContainers", [])
    assert len(containers) == 2
    for container in containers:
        refs = {
            e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e
        }
        wanted = values()["secrets"]
        assert set(refs) == set(wanted["required"]) | set(wanted["optional"])
        for name, ref in refs.items():
            assert ref["name"] == "oneinbox-gateway"
            if name in wanted["required"]:
                # A missing required key keeps the pod from starting: no silent local mode.
                assert ref["key"] == wanted["required"][name] and "optional" not in ref
            else:
                assert ref["key"] == wanted["optional"][name] and ref["optional"] is True
        assert container["envFrom"] == [{"configMapRef": {"name": "gw-config"}}]
    assert not list(CHART.glob("templates/secret*.yaml")), "the chart references, never holds"
