"""The Helm chart renders to valid manifests for each combination of its switches."""

from __future__ import annotations

import tomllib
from pathlib import Path

from gateway.config import load_config
from tests.deploy.chart import by_kind, render_chart, values


def test_the_default_render_is_a_replicated_deployment_with_probes_and_a_pdb() -> None:
    manifests = render_chart()
    kinds = sorted(m["kind"] for m in manifests)
    assert kinds == ["ConfigMap", "Deployment", "PodDisruptionBudget", "Service", "ServiceAccount"]
    (deployment,) = by_kind(manifests, "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == values()["replicaCount"] >= 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["serve", "--host", "0.0.0.0", "--port", "8080"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"] == values()["resources"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/data", "/tmp"} <= mounts
    selector = spec["selector"]["matchLabels"]
    assert spec["template"]["metadata"]["labels"] == selector
    annotations = spec["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] == "/metrics"

    (service,) = by_kind(manifests, "Service")
    assert service["spec"]["selector"] == selector
    (pdb,) = by_kind(manifests, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"] == selector
    assert pdb["spec"]["minAvailable"] == 1


def test_migrations_run_in_an_init_container_with_the_same_settings() -> None:
    (deployment,) = by_kind(render_chart(), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    (main,) = pod["containers"]
    assert init["args"] == ["db", "migrate"]
    assert init["image"] == main["image"]
    assert init["env"] == main["env"] and init["envFrom"] == main["envFrom"]

    (off,) = by_kind(render_chart({"migrations": {"initContainer": False}}), "Deployment")
    assert "initContainers" not in off["spec"]["template"]["spec"]


def test_autoscaling_replaces_the_fixed_replica_count() -> None:
    manifests = render_chart({"autoscaling": {"enabled": True, "maxReplicas": 9}})
    (deployment,) = by_kind(manifests, "Deployment")
    assert "replicas" not in deployment["spec"]
    (hpa,) = by_kind(manifests, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "gw",
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 9)


def test_the_ingress_publishes_the_public_routes_but_not_metrics() -> None:
    overrides = {
        "ingress": {
            "enabled": True,
            "className": "nginx",
            "host": "voice.example.org",
            "tlsSecretName": "voice-tls",
            "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
        }
    }
    (ingress,) = by_kind(render_chart(overrides), "Ingress")
    spec = ingress["spec"]
    assert spec["ingressClassName"] == "nginx"
    assert spec["tls"] == [{"hosts": ["voice.example.org"], "secretName": "voice-tls"}]
    (rule,) = spec["rules"]
    assert rule["host"] == "voice.example.org"
    paths = {p["path"]: p["pathType"] for p in rule["http"]["paths"]}
    for public in ("/slack", "/hooks", "/join", "/api", "/dashboard", "/healthz"):
        assert paths[public] == "Prefix"
    assert paths["/"] == "Exact"
    assert "/metrics" not in paths
    for path in rule["http"]["paths"]:
        assert path["backend"]["service"] == {"name": "gw", "port": {"name": "http"}}
    assert ingress["metadata"]["annotations"] == overrides["ingress"]["annotations"]


def test_a_gateway_toml_is_mounted_and_named_by_gateway_config(tmp_path: Path) -> None:
    toml = '[agents.sales]\ncreate = { first_message = "Hi" }\n'
    manifests = render_chart({"gatewayToml": toml})
    maps = {m["metadata"]["name"]: m for m in by_kind(manifests, "ConfigMap")}
    assert maps["gw-config"]["data"]["GATEWAY_CONFIG"] == "/config/gateway.toml"
    mounted = maps["gw-files"]["data"]["gateway.toml"]
    assert tomllib.loads(mounted)["agents"]["sales"]["create"]["first_message"] == "Hi"
    path = tmp_path / "gateway.toml"
    path.write_text(mounted)
    assert "sales" in load_config(path).agents
    (deployment,) = by_kind(manifests, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (main,) = pod["containers"]
    assert {"name": "files", "mountPath": "/config", "readOnly": True} in main["volumeMounts"]
    assert {"name": "files", "configMap": {"name": "gw-files"}} in pod["volumes"]
