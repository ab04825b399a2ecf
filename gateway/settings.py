"""Every setting of the gateway, read once from the environment (or a `.env` file)."""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.limits.rules import zone
from gateway.phone import InvalidPhoneNumber, to_e164, valid_region
from gateway.plugins import installed
from gateway.validation import what

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/gateway.db"

# The placeholders `JOIN_URL_TEMPLATE` may use (`gateway.calls.links` fills them in, URL-encoded).
TEMPLATE_FIELDS = frozenset({"server_url", "participant_token", "call_id"})


class SettingsError(Exception):
    """A setting has a value the gateway cannot start with; the message is one line."""


def http_url(value: str) -> str:
    """`value` if it is an http(s) URL with a host; else `ValueError` (for validators)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL")
    return value


def template_problem(template: str) -> str | None:
    """Why `JOIN_URL_TEMPLATE` cannot be used (one line), or None when it is fine."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        return f"not a valid template: {exc}"
    names = [name for _, name, _, _ in parts if name is not None]
    unknown = sorted({n for n in names if n not in TEMPLATE_FIELDS})
    if unknown:
        allowed = ", ".join("{" + f + "}" for f in sorted(TEMPLATE_FIELDS))
        return f"unknown placeholder {{{unknown[0]}}}; use {allowed}"
    if any(spec or conv for _, name, spec, conv in parts if name is not None):
        return "placeholders take no format spec or conversion"
    if not template.startswith(("http://", "https://")):
        return "must be an http:// or https:// URL"
    return None


class SettingsSection(BaseSettings):
    """Settings read from the environment (or `.env`); field names are the variables.

    The core's `Settings` is one; each integration that reads variables of its own declares
    another (`Integration.settings_class`), so the core never names a platform's settings.
    """

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    def secret_values(self) -> list[str]:
        """Every `SecretStr` value that is set, so the log redactor can scrub it anywhere."""
        values = [getattr(self, name) for name in type(self).model_fields]
        return [
            v.get_secret_value()
            for v in values
            if isinstance(v, SecretStr) and v.get_secret_value()
        ]


SectionT = TypeVar("SectionT", bound=SettingsSection)


class Settings(SettingsSection):
    """The core's settings (field names are the environment variables, upper case), plus
    the sections of the installed integrations (`section`)."""

    _sections: dict[type[SettingsSection], SettingsSection] = PrivateAttr(default_factory=dict)

    oneinbox_api_key: SecretStr | None = None
    oneinbox_base_url: str = "https://api.oneinbox.ai"
    database_url: str = DEFAULT_DATABASE_URL
    public_base_url: str = "http://127.0.0.1:8080"
    gateway_config: Path | None = None
    gateway_secret_key: SecretStr | None = None
    # Keys GATEWAY_SECRET_KEY had before (comma-separated): stored tokens they encrypted are
    # still read, and encrypted again with the current key.
    gateway_previous_secret_keys: SecretStr | None = None
    admin_token: SecretStr | None = None
    join_url_template: str | None = None
    log_format: Literal["json", "console"] | None = None
    log_level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    callback_allow_private: bool = False
    join_link_ttl_seconds: int = Field(default=900, gt=0)
    join_timeout_seconds: int = Field(default=600, gt=0)
    poll_budget_per_second: float = Field(default=20.0, gt=0)
    analysis_wait_seconds: float = Field(default=60.0, ge=0)
    # How often the tracker looks at a quiet call at first (it backs off from there).
    poll_interval_seconds: float = Field(default=5.0, gt=0)
    # Multiplies the delivery retry schedule (5 s … 10 h); below 1 only to make tests fast.
    delivery_schedule_scale: float = Field(default=1.0, gt=0)
    # A destination failing without one success for this long is disabled (its deliveries
    # are held until an operator enables it again); 0 never disables. Default 5 days.
    destination_disable_after_seconds: float = Field(default=432000.0, ge=0)
    data_dir: Path = Path("./data")
    # How long a result's recording link (`/recordings/…`) opens the recording: 30 days.
    recording_link_ttl_seconds: int = Field(default=2_592_000, gt=0)
    # Live transcripts: at most one sync of a call's live destination per this many seconds.
    live_update_interval_seconds: float = Field(default=1.0, ge=0.2, le=60)
    # The upstream's per-request timeout; few need to change it.
    oneinbox_timeout_seconds: float = Field(default=15.0, gt=0)
    # Connections to OneInbox kept open at most (Slack's starts in flight and the tracker
    # share them); more requests wait for one.
    oneinbox_max_connections: int = Field(default=256, ge=1)
    # A call start not recorded by its own request within this long is resolved by the
    # reconciler (adopted if OneInbox has it, else its key released); the start request gives
    # up waiting for OneInbox at half of it.
    intent_grace_seconds: float = Field(default=120.0, gt=0)
    # Phone calls: how national numbers are read, and the caller id when a hook gives none.
    phone_default_region: str | None = None
    oneinbox_from_number: str | None = None
    # Limits on cost (unset: no limit); `[limits]` in the hooks file overrides each one.
    limit_calls_per_day: int | None = Field(default=None, ge=0)
    limit_phone_calls_per_day: int | None = Field(default=None, ge=0)
    limit_calls_per_hook_per_day: int | None = Field(default=None, ge=0)
    limit_phone_calls_per_hook_per_day: int | None = Field(default=None, ge=0)
    limit_calls_per_slack_user_per_day: int | None = Field(default=None, ge=0)
    limit_phone_calls_per_slack_user_per_day: int | None = Field(default=None, ge=0)
    limit_live_calls: int | None = Field(default=None, ge=0)
    limit_timezone: str | None = None  # where a day starts and ends; default UTC
    # `production`: what a deployment sets (the Helm chart, compose and the systemd unit do);
    # missing secrets then stop the start instead of falling back to local mode.
    gateway_env: Literal["development", "production"] = "development"
    # Peers whose X-Forwarded-For/-Proto are believed (the reverse proxy or ingress), so
    # rate limits and logs see the real client; comma-separated addresses or networks.
    forwarded_allow_ips: str = "127.0.0.1"

    @field_validator("database_url")
    @classmethod
    def _database_url_is_async(cls, value: str) -> str:
        scheme = urlsplit(value).scheme
        allowed = ("sqlite+aiosqlite", "postgresql+asyncpg")
        if scheme not in allowed:
            raise ValueError(f"must start with one of {', '.join(s + '://' for s in allowed)}")
        return value

    @field_validator("public_base_url", "oneinbox_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)

    @field_validator("join_url_template")
    @classmethod
    def _usable_template(cls, value: str | None) -> str | None:
        if not value:
            return None
        problem = template_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("phone_default_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        return valid_region(value) if value else None

    @field_validator("oneinbox_from_number")
    @classmethod
    def _from_number(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            return None
        try:
            return to_e164(value, info.data.get("phone_default_region"))
        except InvalidPhoneNumber as exc:
            raise ValueError(f"not a phone number I can dial from: {exc}") from None

    @field_validator(
        "limit_calls_per_day",
        "limit_phone_calls_per_day",
        "limit_calls_per_hook_per_day",
        "limit_phone_calls_per_hook_per_day",
        "limit_calls_per_slack_user_per_day",
        "limit_phone_calls_per_slack_user_per_day",
        "limit_live_calls",
        "limit_timezone",
        mode="before",
    )
    @classmethod
    def _blank_limit_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("limit_timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            zone(value)
        return value

    @field_validator("log_format", "log_level", "gateway_env", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator(
        "oneinbox_api_key", "gateway_secret_key", "gateway_previous_secret_keys", mode="before"
    )
    @classmethod
    def _blank_key_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def local_mode(self) -> bool:
        """No API key: the simulator runs in-process and every page and log says so."""
        return self.oneinbox_api_key is None

    @property
    def public_base(self) -> str:
        """`PUBLIC_BASE_URL` without a trailing slash."""
        return self.public_base_url.rstrip("/")

    @property
    def config_path(self) -> Path | None:
        """`GATEWAY_CONFIG`, else `./gateway.toml` when present."""
        if self.gateway_config is not None:
            return self.gateway_config
        default = Path("gateway.toml")
        return default if default.exists() else None

    def secret_key(self) -> bytes:
        """`GATEWAY_SECRET_KEY`; in local mode generated once and kept in the data dir."""
        if self.gateway_secret_key is not None:
            return self.gateway_secret_key.get_secret_value().encode()
        if not self.local_mode:
            raise SettingsError(
                "GATEWAY_SECRET_KEY: required when ONEINBOX_API_KEY is set "
                "(any long random string, e.g. from `openssl rand -hex 32`)"
            )
        path = self.data_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip().encode()

    def previous_secret_keys(self) -> list[bytes]:
        """`GATEWAY_PREVIOUS_SECRET_KEYS`, one key per comma-separated item."""
        value = self.gateway_previous_secret_keys
        if value is None:
            return []
        return [k.strip().encode() for k in value.get_secret_value().split(",") if k.strip()]

    def section(self, cls: type[SectionT]) -> SectionT:
        """An integration's settings: loaded with these (`load_settings`), else read from the
        environment on first use."""
        found = self._sections.get(cls)
        if not isinstance(found, cls):
            try:
                found = cls()
            except ValidationError as exc:
                raise _one_line(exc) from None
            self._sections[cls] = found
        return found

    def limit_values(self) -> dict[str, object]:
        """The `LIMIT_*` settings by their `[limits]` key (`calls_per_day`, …, `timezone`)."""
        return {
            name.removeprefix("limit_"): getattr(self, name)
            for name in type(self).model_fields
            if name.startswith("limit_")
        }

    def serve_problem(self, workers: int) -> str | None:
        """Why `serve` must refuse these settings, in one line; None when it may start.

        Local mode (the in-process simulator, a generated secret key) is for trying the gateway
        out on one machine: anything that says "production" turns its absence into an error.
        """
        if self.local_mode:
            if self.gateway_env == "production":
                return (
                    "ONEINBOX_API_KEY: required when GATEWAY_ENV=production "
                    "(without it the gateway would run the local simulator)"
                )
            if self.database_url.startswith("postgresql"):
                return (
                    "ONEINBOX_API_KEY: required with PostgreSQL (replicas in local mode would "
                    "each answer with their own simulated calls)"
                )
            if workers > 1:
                return (
                    "ONEINBOX_API_KEY: required with --workers above 1 (local mode is one process)"
                )
        if self.gateway_env == "production" and self.admin_token is None:
            return (
                "ADMIN_TOKEN: required when GATEWAY_ENV=production "
                "(the dashboard and admin API would have no sign-in)"
            )
        return None

    def secret_values(self) -> list[str]:
        """Every configured secret of the core and of every section."""
        found = super().secret_values()
        found += [key.decode() for key in self.previous_secret_keys()]
        for section in self._sections.values():
            found += section.secret_values()
        return found

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> object:
            # `settings.slack_bot_token` still reads an integration's setting at run time;
            # typed code asks for `settings.section(SlackSettings)` instead.
            if not name.startswith("_"):
                sections = (self.__pydantic_private__ or {}).get("_sections", {})
                for section in sections.values():
                    if name in type(section).model_fields:
                        return getattr(section, name)
            return super().__getattr__(name)


def settings_classes() -> list[type[SettingsSection]]:
    """The settings classes of the installed integrations."""
    found = (getattr(i, "settings_class", None) for i in installed())
    return [cls for cls in found if cls is not None]


def _one_line(exc: ValidationError) -> SettingsError:
    error = exc.errors()[0]
    name = str(error["loc"][0]).upper() if error["loc"] else "settings"
    return SettingsError(f"{name}: {what(error)}")


def load_settings(
    sections: Iterable[type[SettingsSection]] | None = None, **overrides: Any
) -> Settings:
    """Read the core's settings and each section's; a wrong value raises `SettingsError`.

    `sections` defaults to the settings classes of the installed integrations. An override
    goes to the class that declares a field of that name (unknown names are ignored, as
    unknown environment variables are).
    """
    classes = list(settings_classes() if sections is None else sections)
    try:
        settings = Settings(**_for(Settings, overrides))
        for cls in classes:
            settings._sections[cls] = cls(**_for(cls, overrides))
    except ValidationError as exc:
        raise _one_line(exc) from None
    if not settings.local_mode and settings.gateway_secret_key is None:
        settings.secret_key()  # raises the one-line error
    return settings


def _for(cls: type[SettingsSection], overrides: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in overrides.items() if k in cls.model_fields}
