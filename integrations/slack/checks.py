"""Slack's row of `oneinbox-gateway check`: `auth.test` with the bot token."""

from __future__ import annotations

import httpx

from gateway.plugins import CheckRow
from gateway.sealing import UnreadableSecretError
from gateway.settings import Settings
from gateway.store.database import Database
from integrations.slack.installations import SealedInstallationStore, token_sealer
from integrations.slack.settings import SlackSettings

SLACK_TIMEOUT_SECONDS = 10.0


async def check_slack(settings: SlackSettings) -> CheckRow:
    """`auth.test` with the bot token against SLACK_API_URL; OAuth mode needs its secrets."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    signing = settings.slack_signing_secret is not None
    if token and not signing:
        return ("slack", False, "SLACK_BOT_TOKEN is set but SLACK_SIGNING_SECRET is not")
    if not token:
        if settings.slack_client_id and settings.slack_client_secret and signing:
            return ("slack", True, "OAuth mode: each workspace's token is checked at install")
        if settings.slack_client_id or settings.slack_client_secret:
            return ("slack", False, "OAuth needs SLACK_CLIENT_ID, _SECRET and SIGNING_SECRET")
        return ("slack", True, "off (no SLACK_BOT_TOKEN or OAuth client)")
    url = settings.slack_api_url.rstrip("/") + "/auth.test"
    try:
        async with httpx.AsyncClient(timeout=SLACK_TIMEOUT_SECONDS) as http:
            answer = await http.post(url, headers={"Authorization": f"Bearer {token}"})
        body = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        return ("slack", False, f"{settings.slack_api_url} unreachable ({type(exc).__name__})")
    if not isinstance(body, dict) or not body.get("ok"):
        error = body.get("error", f"HTTP {answer.status_code}") if isinstance(body, dict) else "?"
        return ("slack", False, f"auth.test refused the bot token: {error}")
    return ("slack", True, f"bot @{body.get('user', '?')} in workspace {body.get('team', '?')}")


async def check_stored_tokens(settings: Settings) -> CheckRow | None:
    """OAuth mode: every stored token opens with GATEWAY_SECRET_KEY or a previous key (else
    `serve` would stop at start-up); None in single-workspace mode."""
    slack = settings.section(SlackSettings)
    if slack.slack_bot_token is not None or not slack.slack_client_id:
        return None
    db = Database(settings.database_url)
    try:
        store = SealedInstallationStore(slack.slack_client_id, db.engine, token_sealer(settings))
        pending = await store.reseal_stored(dry_run=True)
    except UnreadableSecretError as exc:
        return ("slack tokens", False, str(exc))
    except Exception as exc:  # the store is unreachable or not migrated: the store row says
        return ("slack tokens", False, f"not read ({type(exc).__name__})")
    finally:
        await db.dispose()
    again = f"; {pending} to encrypt again at the next start" if pending else ""
    return ("slack tokens", True, f"stored tokens readable with GATEWAY_SECRET_KEY{again}")
