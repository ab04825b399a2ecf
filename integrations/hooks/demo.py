"""The `demo` hook of local mode: a newcomer starts a call with one pasted `curl`."""

from __future__ import annotations

import json
import secrets
import shlex
from pathlib import Path

from gateway.config import AgentAlias
from gateway.context import AppContext
from gateway.logging import redactor
from integrations.hooks import auth
from integrations.hooks.adapters import JSONAdapter
from integrations.hooks.config import Hook
from integrations.hooks.mapping import compile_expression
from integrations.hooks.schema import AuthConfig, HookConfig

DEMO = "demo"
DEMO_DIAL = "demo-dial"  # the same, as a phone call the simulator rings
DEMO_NUMBER = "+1 415 555 0123"
TOKEN_FILE = "demo-hook.token"  # noqa: S105 (a file name)
DEMO_AGENT = {
    "first_message": "Hi! This is the OneInbox Gateway demo agent. How can I help?",
}


def demo_token(data_dir: Path) -> str:
    """The demo hook's bearer token: generated once, kept (0600) in the data dir."""
    path = data_dir / TOKEN_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def demo_hooks(ctx: AppContext) -> tuple[dict[str, Hook], list[str]]:
    """In local mode with no GATEWAY_CONFIG: the `demo` and `demo-dial` hooks (and the agent),
    and the lines `serve` prints under its banner to try them; else nothing."""
    if not ctx.settings.local_mode or ctx.config.path is not None:
        return {}, []
    token = demo_token(ctx.settings.data_dir)
    redactor.pin(token)
    ctx.config.agents.setdefault(DEMO, AgentAlias(create=dict(DEMO_AGENT)))
    variables = {"customer_name": "body.name || 'there'"}
    config = HookConfig(
        auth=AuthConfig(scheme="bearer", token_env="DEMO_HOOK_TOKEN"),  # noqa: S106
        agent=DEMO,
        variables=variables,
        metadata={"contact": "body.name || 'demo'"},
    )
    web = Hook(
        name=DEMO,
        config=config,
        verifier=auth.Bearer(token),
        adapter=JSONAdapter(),
        variables={k: compile_expression(v) for k, v in variables.items()},
        metadata={"contact": compile_expression("body.name || 'demo'")},
    )
    dial_config = config.model_copy(
        update={"action": "start_phone_call", "to_number": "body.phone"}
    )
    dial = Hook(
        name=DEMO_DIAL,
        config=dial_config,
        verifier=web.verifier,
        adapter=JSONAdapter(),
        variables=web.variables,
        metadata=web.metadata,
        to_number=compile_expression("body.phone"),
    )
    return {DEMO: web, DEMO_DIAL: dial}, banner_lines(ctx.settings.public_base, token)


def curl_command(public_base: str, token: str, *, dial: bool = False) -> str:
    """A ready-to-paste `curl` that starts a demo call (`dial`: a demo phone call)."""
    hook, body = (DEMO, '{"name": "Ada"}')
    if dial:
        hook, body = DEMO_DIAL, json.dumps({"name": "Ada", "phone": DEMO_NUMBER})
    return " ".join(
        [
            "curl -sS -X POST",
            shlex.quote(f"{public_base}/hooks/{hook}"),
            "-H",
            shlex.quote(f"Authorization: Bearer {token}"),
            "-H 'Content-Type: application/json'",
            "-d",
            shlex.quote(body),
        ]
    )


def banner_lines(public_base: str, token: str) -> list[str]:
    """What `serve` prints so a newcomer can try the flow at once."""
    return [
        "  try it        start a demo call (the answer holds the join link):",
        "    " + curl_command(public_base, token),
        "  or dial       a demo phone call (the simulator rings, answers, hangs up):",
        "    " + curl_command(public_base, token, dial=True),
    ]
