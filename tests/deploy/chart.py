"""Render the Helm chart with the test renderer and parse every manifest."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.gotemplate import render

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "oneinbox-gateway"


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Helm's values merge: maps merge key by key, anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def values() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())
    return loaded


def render_chart(overrides: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every manifest the chart renders with its values (plus `overrides`), parsed."""
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    context = {
        "Values": merge(values(), overrides or {}),
        "Release": {"Name": "gw", "Namespace": "voice", "Service": "Helm"},
        "Files": {
            str(f.relative_to(CHART)): f.read_text() for f in CHART.glob("files/*") if f.is_file()
        },
        "Chart": {
            "Name": chart["name"],
            "Version": chart["version"],
            "AppVersion": chart["appVersion"],
        },
    }
    helpers = "".join(t.read_text() for t in sorted((CHART / "templates").glob("*.tpl")))
    manifests: list[dict[str, Any]] = []
    for template in sorted((CHART / "templates").glob("*.yaml")):
        text = render(template.read_text(), context, helpers=helpers)
        for doc in yaml.safe_load_all(text):
            if doc is None:
                continue
            assert {"apiVersion", "kind", "metadata"} <= set(doc), template.name
            manifests.append(doc)
    return manifests


def by_kind(manifests: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in manifests if m["kind"] == kind]
