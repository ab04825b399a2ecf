"""The Dockerfile, its build context and the systemd unit, checked without docker or systemd."""

from __future__ import annotations

import configparser
import json
import re
import shlex
import tomllib
from pathlib import Path

from tests.deploy.chart import DEPLOY, ROOT
from tests.deploy.settings_names import all_settings

DOCKERFILE = DEPLOY / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages() -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    current = ""
    for word, rest in instructions():
        if word == "FROM":
            current = rest.split(" AS ")[-1].strip() if " AS " in rest else rest
            found[current] = []
        else:
            found[current].append((word, rest))
    return found


def test_three_stages_node_build_slim_runtime() -> None:
    froms = [rest for word, rest in instructions() if word == "FROM"]
    assert [f.split()[0].split(":")[0] for f in froms] == ["node", "python", "python"]
    assert froms[-1].split()[0].endswith("-slim-bookworm")
    runs = " ".join(rest for word, rest in stages()["frontend"] if word == "RUN")
    assert "npm ci" in runs and "npm run build" in runs


def test_the_bundle_lands_where_the_join_page_serves_it() -> None:
    package = json.loads((ROOT / "frontend" / "package.json").read_text())
    outfile = re.search(r"--outfile=(\S+)", package["scripts"]["build"])
    assert outfile is not None
    built = (Path("/src/frontend") / outfile.group(1)).resolve()  # WORKDIR of the node stage
    copies = [
        rest for word, rest in stages()["build"] if word == "COPY" and "--from=frontend" in rest
    ]
    (copy,) = copies
    source, target = copy.split()[1:]
    assert Path(source) == built
    assert target == "gateway/join/static/join.js"
    assert (ROOT / "gateway" / "join" / "static").is_dir()


def test_python_comes_from_the_lock_with_the_pinned_uv() -> None:
    runs = [rest for word, rest in stages()["build"] if word == "RUN"]
    syncs = [run for run in runs if "uv sync" in run]
    assert syncs and all("--frozen" in run and "--no-dev" in run for run in syncs)
    makefile_uv = re.search(r'"uv==([\d.]+)"', (ROOT / "Makefile").read_text())
    assert makefile_uv is not None
    assert any(f"uv=={makefile_uv.group(1)}" in run for run in runs)


def test_every_copied_path_exists_and_is_in_the_build_context() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    allowed = [line[1:].rstrip("/") for line in ignore if line.startswith("!")]
    for stage in stages().values():
        for word, rest in stage:
            if word != "COPY" or "--from=" in rest:
                continue
            *sources, _ = rest.split()
            for source in sources:
                assert (ROOT / source).exists(), source
                path = source.rstrip("/")
                # the path is let in, or something under it is (frontend/ -> its sources)
                assert any(path.startswith(a) or a.startswith(path + "/") for a in allowed), path


def test_the_runtime_runs_serve_as_a_non_root_user_with_a_healthcheck() -> None:
    runtime = dict(stages()["runtime"][::-1])  # last one wins
    user = runtime["USER"].split(":")[0]
    assert user not in ("0", "root")
    healthcheck = runtime["HEALTHCHECK"]
    assert "/healthz" in healthcheck and "--interval" in healthcheck
    assert json.loads(runtime["ENTRYPOINT"]) == ["oneinbox-gateway"]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "oneinbox-gateway" in pyproject["project"]["scripts"]
    cmd = json.loads(runtime["CMD"])
    assert cmd[:3] == ["serve", "--host", "0.0.0.0"]
    env = dict(pair.split("=", 1) for pair in shlex.split(runtime["ENV"]) if "=" in pair)
    assert set(env) - {"PATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"} <= all_settings()
    assert env["DATABASE_URL"].startswith("sqlite+aiosqlite:////data/")


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / "systemd" / "oneinbox-gateway.service").read_text())
    return parser


def test_the_systemd_unit_serves_with_its_env_file_as_a_system_user() -> None:
    service = unit()["Service"]
    assert service["User"] not in ("root", "0")
    assert service["EnvironmentFile"] == "/etc/oneinbox-gateway/gateway.env"
    assert service["ExecStart"].split()[1:3] == ["serve", "--host"]
    assert service["ExecStartPre"].split()[1:] == ["db", "migrate"]
    assert service["Restart"] == "on-failure"
    assert service["ProtectSystem"] == "strict"
    assert unit()["Install"]["WantedBy"] == "multi-user.target"


def test_the_vm_env_file_sets_only_real_settings_and_the_required_ones() -> None:
    text = (DEPLOY / "systemd" / "gateway.env").read_text()
    keys = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, re.MULTILINE))
    assert keys <= all_settings(), sorted(keys - all_settings())
    active = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, re.MULTILINE))
    assert {"ONEINBOX_API_KEY", "GATEWAY_SECRET_KEY", "PUBLIC_BASE_URL", "DATABASE_URL"} <= active
    state = unit()["Service"]["StateDirectory"]
    assert f"/var/lib/{state}/" in text
