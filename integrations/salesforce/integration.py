"""`SalesforceIntegration`: registers the `salesforce_record` destination and checks its setting.

`SALESFORCE_LOGIN_URL` has no default: it must be the org's My Domain URL, because Salesforce
serves the OAuth 2.0 client credentials flow there and not on the generic login hosts. When a
hook's `notify` names `salesforce_record`, start-up (and `oneinbox-gateway check`) stop with
one line saying what to set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from pydantic import BaseModel, ConfigDict, Field, field_validator

from gateway.config import ConfigError, GatewayConfig
from gateway.context import AppContext
from gateway.delivery.crm import WriteBackKind
from gateway.plugins import CheckRow, Contribution
from gateway.settings import Settings, SettingsSection
from gateway.store.database import Database
from integrations.salesforce.api import SalesforceClient, SalesforceError
from integrations.salesforce.destination import KIND, SalesforceRecordDestination

log = structlog.get_logger(__name__)

ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class SalesforceSettings(SettingsSection):
    """`SALESFORCE_LOGIN_URL`: the org's My Domain URL (no default: required when a hook
    uses the `salesforce_record` write-back; start-up says so)."""

    salesforce_login_url: str | None = None

    @field_validator("salesforce_login_url", mode="before")
    @classmethod
    def _blank_url_is_unset(cls, value: object) -> object:
        return None if value == "" else value


class SalesforceRecordOptions(BaseModel):
    """`{ salesforce_record = "<expression>", client_id_env = …, client_secret_env = … }`."""

    model_config = ConfigDict(extra="forbid")

    client_id_env: str = Field(default="SALESFORCE_CLIENT_ID", pattern=ENV_NAME)
    client_secret_env: str = Field(default="SALESFORCE_CLIENT_SECRET", pattern=ENV_NAME)


SALESFORCE_RECORD = WriteBackKind(
    kind=KIND,
    crm="salesforce",
    options=SalesforceRecordOptions,
    record_id=re.compile(r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?"),
    record_id_hint="a 15- or 18-character Salesforce record id (003… Contact, 00Q… Lead, …)",
)
GENERIC_HOSTS = ("login.salesforce.com", "test.salesforce.com")
EXAMPLE = "https://<your-domain>.my.salesforce.com"


def salesforce_notify(config: GatewayConfig) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(hook name, notify entry) for every `salesforce_record` destination in the file, and
    for hooks whose Salesforce preset offers it with its credentials set."""
    defaults = SalesforceRecordOptions()
    offered = {
        "client_id_env": defaults.client_id_env,
        "client_secret_env": defaults.client_secret_env,
    }
    for name, table in sorted(config.table("hooks").items()):
        if not isinstance(table, Mapping):
            continue
        notify = table.get("notify")
        if notify is None and str(table.get("preset", "")).startswith("salesforce"):
            if all(os.environ.get(env) for env in offered.values()):
                yield name, offered
            continue
        for entry in notify if isinstance(notify, list) else []:
            if isinstance(entry, Mapping) and KIND in entry:
                yield name, {**offered, **entry}


def login_url_problem(value: str | None) -> str | None:
    """Why `SALESFORCE_LOGIN_URL` cannot serve the client credentials flow, or None."""
    if not value:
        return f"not set; set it to your org's My Domain URL ({EXAMPLE})"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"must be your org's My Domain URL ({EXAMPLE})"
    if (parts.hostname or "") in GENERIC_HOSTS:
        return (
            f"{parts.hostname} does not serve the client credentials flow; use your org's "
            f"My Domain URL ({EXAMPLE}, Setup → My Domain)"
        )
    return None


class SalesforceIntegration:
    """Salesforce write-back (hooks and presets live in the hooks integration)."""

    name = "salesforce"
    settings_class = SalesforceSettings
    write_backs = (SALESFORCE_RECORD,)

    def setup(self, ctx: AppContext) -> Contribution:
        """Raise `ConfigError` if a hook needs a missing URL (the destination is an entry
        point, `destination` below)."""
        login_url = ctx.settings.section(SalesforceSettings).salesforce_login_url
        users = sorted({name for name, _ in salesforce_notify(ctx.config)})
        problem = login_url_problem(login_url)
        if users and problem is not None:
            raise ConfigError(
                f"SALESFORCE_LOGIN_URL: {problem} (needed by the salesforce_record "
                f"destination of [hooks.{users[0]}])"
            )
        if users:
            log.info("salesforce.write_back", hooks=users, login_url=login_url)
        return Contribution()

    async def checks(self, settings: Settings, config: GatewayConfig) -> list[CheckRow]:
        """For `oneinbox-gateway check`: the URL, then a token with each app's credentials."""
        entries = list(salesforce_notify(config))
        if not entries:
            return []
        login_url = settings.section(SalesforceSettings).salesforce_login_url
        problem = login_url_problem(login_url)
        if problem is not None:
            return [("salesforce", False, f"SALESFORCE_LOGIN_URL: {problem}")]
        assert login_url is not None
        rows: list[tuple[str, bool, str]] = []
        seen: set[tuple[str, str]] = set()
        async with httpx.AsyncClient() as http:
            for _, entry in entries:
                envs = (str(entry.get("client_id_env")), str(entry.get("client_secret_env")))
                if envs in seen:
                    continue
                seen.add(envs)
                rows.append(await _token_row(login_url, envs, http))
        return rows


def destination(
    settings: Settings, config: GatewayConfig, db: Database
) -> SalesforceRecordDestination:
    """The `salesforce_record` kind's factory (entry point); always on (it fails clearly
    per delivery when SALESFORCE_LOGIN_URL is missing)."""
    return SalesforceRecordDestination(settings.section(SalesforceSettings).salesforce_login_url)


async def _token_row(
    login_url: str, envs: tuple[str, str], http: httpx.AsyncClient
) -> tuple[str, bool, str]:
    name = f"salesforce {envs[0]}"
    values = [os.environ.get(env, "") for env in envs]
    if not all(values):
        missing = [env for env, value in zip(envs, values, strict=True) if not value]
        return (name, False, f"not set: {', '.join(missing)}")
    client = SalesforceClient(login_url, values[0], values[1], http=http)
    try:
        session = await client.session()
    except SalesforceError as exc:
        return (name, False, f"token refused: {exc.code}: {exc.message}")
    except httpx.HTTPError as exc:
        return (name, False, f"{login_url} unreachable ({type(exc).__name__})")
    return (name, True, f"token issued; REST API at {session.instance_url}")
