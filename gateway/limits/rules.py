"""Which limits apply to a call: the settings, overridden by `[limits]` in the hooks file.

Daily limits count the calls a subject started in one day (midnight to midnight in the
limits' time zone): the whole gateway, one hook, one Slack user; each for all calls and for
phone calls alone (a phone call counts towards both). `live_calls` caps the calls running at
once, whoever started them. A limit that is not set does not apply; 0 allows no call at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gateway.config import ConfigError, describe_error

CallKind = Literal["web", "phone"]
Scope = Literal["gateway", "hook", "slack_user"]
LIVE_CALLS = "live_calls"
GATEWAY_SUBJECT = "*"
# The names of the daily limits, as keys of `[limits]` and, upper-cased with `LIMIT_`, settings.
DAILY: dict[tuple[str, str], str] = {
    ("gateway", "all"): "calls_per_day",
    ("gateway", "phone"): "phone_calls_per_day",
    ("hook", "all"): "calls_per_hook_per_day",
    ("hook", "phone"): "phone_calls_per_hook_per_day",
    ("slack_user", "all"): "calls_per_slack_user_per_day",
    ("slack_user", "phone"): "phone_calls_per_slack_user_per_day",
}
LIMIT_NAMES = (*DAILY.values(), LIVE_CALLS)

Count = Field(default=None, ge=0, le=10_000_000)


class SubjectLimits(BaseModel):
    """`[limits.hooks.NAME]` or `[limits.slack_users.USER_ID]`: that subject's own limits."""

    model_config = ConfigDict(extra="forbid")

    calls_per_day: int | None = Count
    phone_calls_per_day: int | None = Count


class LimitsTable(BaseModel):
    """`[limits]`; each key is also a setting (`LIMIT_<KEY>`), which this table overrides."""

    model_config = ConfigDict(extra="forbid")

    calls_per_day: int | None = Count
    phone_calls_per_day: int | None = Count
    calls_per_hook_per_day: int | None = Count
    phone_calls_per_hook_per_day: int | None = Count
    calls_per_slack_user_per_day: int | None = Count
    phone_calls_per_slack_user_per_day: int | None = Count
    live_calls: int | None = Count
    timezone: str | None = None
    hooks: dict[str, SubjectLimits] = Field(default_factory=dict)
    slack_users: dict[str, SubjectLimits] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            zone(value)
        return value


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; raises `ValueError` naming it when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name such as Europe/Paris)"
        ) from None


@dataclass(frozen=True)
class Usage:
    """A call about to start, as the limits see it."""

    kind: CallKind
    hook: str | None = None  # the hook's name, when a hook starts it
    slack_user: str | None = None  # `team/user`, when a Slack user starts it


@dataclass(frozen=True)
class Rule:
    """One daily limit that applies to a call: `allowed` calls of `kind` for `subject`."""

    name: str
    scope: Scope
    subject: str
    kind: str  # all | phone
    allowed: int


@dataclass(frozen=True)
class LimitRules:
    """Every limit in force, resolved from the settings and `[limits]`."""

    defaults: dict[str, int]  # limit name → allowed
    hooks: dict[str, SubjectLimits]
    slack_users: dict[str, SubjectLimits]
    live_calls: int | None
    tz: ZoneInfo

    @classmethod
    def none(cls) -> LimitRules:
        """No limit at all."""
        return cls(defaults={}, hooks={}, slack_users={}, live_calls=None, tz=ZoneInfo("UTC"))

    @property
    def enabled(self) -> bool:
        """False when no limit is set at all (then nothing is counted)."""
        return bool(self.defaults) or self.live_calls is not None or self._has_overrides()

    def _has_overrides(self) -> bool:
        subjects = [*self.hooks.values(), *self.slack_users.values()]
        return any(
            s.calls_per_day is not None or s.phone_calls_per_day is not None for s in subjects
        )

    def rules_for(self, usage: Usage) -> list[Rule]:
        """The daily limits a call counts against, in the order they are taken."""
        kinds = ["all", "phone"] if usage.kind == "phone" else ["all"]
        subjects: list[tuple[Scope, str, SubjectLimits | None]] = [
            ("gateway", GATEWAY_SUBJECT, None)
        ]
        if usage.hook is not None:
            subjects.append(("hook", usage.hook, self.hooks.get(usage.hook)))
        if usage.slack_user is not None:
            user_id = usage.slack_user.rsplit("/", 1)[-1]
            subjects.append(("slack_user", usage.slack_user, self.slack_users.get(user_id)))
        rules = []
        for scope, subject, own in subjects:
            for kind in kinds:
                allowed = self.allowed(scope, kind, own)
                if allowed is not None:
                    rules.append(Rule(DAILY[(scope, kind)], scope, subject, kind, allowed))
        return sorted(rules, key=lambda r: (r.scope, r.subject, r.kind))

    def allowed(self, scope: str, kind: str, own: SubjectLimits | None = None) -> int | None:
        """The limit of `kind` calls for a subject of `scope` (its own value first)."""
        if own is not None:
            value = own.phone_calls_per_day if kind == "phone" else own.calls_per_day
            if value is not None:
                return value
        return self.defaults.get(DAILY[(scope, kind)])

    def own_limits(self, scope: str, subject: str) -> SubjectLimits | None:
        """A subject's overrides, if any (Slack users by user id, hooks by name)."""
        if scope == "hook":
            return self.hooks.get(subject)
        if scope == "slack_user":
            return self.slack_users.get(subject.rsplit("/", 1)[-1])
        return None

    def period(self, now: datetime) -> tuple[str, datetime]:
        """The day `now` falls in (`YYYY-MM-DD` in the limits' zone) and when it ends."""
        local = now.astimezone(self.tz)
        next_day = local.date() + timedelta(days=1)
        ends = datetime.combine(next_day, time(0), tzinfo=self.tz)
        return local.date().isoformat(), ends.astimezone(now.tzinfo)


def load_rules(settings_values: dict[str, Any], table: Any, *, path: str = "config") -> LimitRules:
    """Resolve the limits; `settings_values` holds `LIMIT_*` settings by key (`calls_per_day`,
    …, `timezone`). Raises `ConfigError` naming the key when `[limits]` is wrong."""
    try:
        parsed = LimitsTable.model_validate(table or {})
    except ValidationError as exc:
        raise ConfigError(describe_error(path, "limits", exc)) from None
    merged = {k: v for k, v in settings_values.items() if v is not None}
    merged |= {
        k: v
        for k, v in parsed.model_dump(exclude={"hooks", "slack_users"}).items()
        if v is not None
    }
    tz_name = str(merged.pop("timezone", None) or "UTC")
    try:
        tz = zone(tz_name)
    except ValueError as exc:
        raise ConfigError(f"LIMIT_TIMEZONE: {exc}") from None
    live = merged.pop(LIVE_CALLS, None)
    defaults = {name: int(value) for name, value in merged.items() if name in DAILY.values()}
    return LimitRules(
        defaults=defaults,
        hooks=parsed.hooks,
        slack_users=parsed.slack_users,
        live_calls=int(live) if live is not None else None,
        tz=tz,
    )
