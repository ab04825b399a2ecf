"""A wrong `[hooks.*]` table stops start-up with one line naming the file, table and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.app import create_app
from gateway.config import ConfigError
from gateway.settings import load_settings

BEARER = 'auth = { scheme = "bearer", token_env = "NEW_LEAD_TOKEN" }'


def start(tmp_path: Path, toml: str) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(toml)
    create_app(
        load_settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'g.db'}",
            data_dir=tmp_path / "data",
            oneinbox_api_key="",
            gateway_secret_key="k" * 32,
            gateway_config=path,
        )
    )


@pytest.mark.parametrize(
    ("table", "key", "fragment"),
    [
        (f'agent = "a"\n{BEARER}\nvariables = {{ x = "body.[" }}', "variables", "JMESPath"),
        ('agent = "a"\nauth = { scheme = "bearer" }', "auth", "token_env"),
        (
            'agent = "a"\nauth = { scheme = "bearer", token_env = "UNSET_TOKEN_ENV" }',
            "auth.token_env",
            "UNSET_TOKEN_ENV is not set",
        ),
        ('agent = "a"\nauth = { scheme = "rot13" }', "auth.scheme", "standard_webhooks"),
        ('agent = "a"\nauth = { scheme = "none", token = "x" }', "auth.token", "xtra"),
        (f'agent = "a"\n{BEARER}\nrate_limit = "lots"', "rate_limit", "10/s"),
        (f"{BEARER}", "(table)", "agent"),
        (f'agent = "a"\nagent_from = "body.a"\n{BEARER}', "(table)", "exactly one"),
        (
            f'agent = "a"\n{BEARER}\nnotify = [{{ callback_url = "ftp://x" }}]',
            "notify.0.callback_url",
            "https",
        ),
        (
            f'agent = "a"\n{BEARER}\nnotify = [{{ callback_url = "https://10.0.0.7/hook" }}]',
            "notify.0.callback_url",
            "private or internal",
        ),
        (
            f'agent="a"\n{BEARER}\nnotify=[{{slack_channel = "C1", callback_url = "https://a"}}]',
            "notify.0",
            "exactly one",
        ),
        (
            f'agent = "a"\n{BEARER}\nnotify = [{{ slack_channel = "C1", redact = ["ssn"] }}]',
            "notify.0.redact.0",
            "'phone', 'email' or 'card'",
        ),
        (f'action = "create_agent"\n{BEARER}', "(table)", "agent_fields.name"),
        (f'agent = "a"\n{BEARER}\npreset = "myspace"', "preset", "unknown preset"),
        (
            'agent = "a"\nauth = { scheme = "bearer", token_env = "T", secret = "inline" }',
            "auth.secret",
            "xtra",
        ),
    ],
)
def test_config_errors_name_file_table_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: str, key: str, fragment: str
) -> None:
    monkeypatch.delenv("UNSET_TOKEN_ENV", raising=False)
    with pytest.raises(ConfigError) as info:
        start(tmp_path, f"[hooks.new-lead]\n{table}\n")
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'gateway.toml'}: [hooks.new-lead] {key}"), message
    assert fragment in message, message
    assert "\n" not in message


def test_scheme_none_is_allowed_when_written_out(tmp_path: Path) -> None:
    start(tmp_path, '[hooks.open]\nagent = "a"\nauth = { scheme = "none" }\n')


def test_a_hook_without_auth_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[hooks.open\] auth: Field required"):
        start(tmp_path, '[hooks.open]\nagent = "a"\n')


def test_a_wrong_limits_table_stops_start_up_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        start(tmp_path, "[limits]\ncalls_per_hook_per_day = -3\n")
    assert str(info.value).startswith(
        f"{tmp_path / 'gateway.toml'}: [limits] calls_per_hook_per_day"
    )


def test_redact_is_accepted_on_every_kind_of_notify_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from integrations.hooks.config import build_hook

    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-na1-test")
    table = {
        "agent": "a",
        "auth": {"scheme": "bearer", "token_env": "NEW_LEAD_TOKEN"},
        "notify": [
            {"slack_channel": "C1", "redact": ["phone", "email", "card"]},
            {"callback_url": "https://crm.example/hook"},
            {"hubspot_contact": "body.id", "token_env": "HUBSPOT_ACCESS_TOKEN", "redact": ["card"]},
        ],
    }
    hook = build_hook("gw.toml", "lead", table, allow_private=False)
    assert [entry.redact for entry in hook.config.notify] == [
        ["phone", "email", "card"],
        [],
        ["card"],
    ]
    assert hook.config.notify[2].write_back is not None
    assert 2 in hook.write_backs
