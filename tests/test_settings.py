"""Settings: a wrong value stops start-up with one line naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import SettingsError, load_settings


@pytest.mark.parametrize(
    ("overrides", "starts_with"),
    [
        ({"database_url": "mysql://root@localhost/db"}, "DATABASE_URL: must start with one of"),
        ({"log_format": "xml"}, "LOG_FORMAT: Input should be 'json' or 'console'"),
        ({"public_base_url": "ftp://x"}, "PUBLIC_BASE_URL: must be an http://"),
        ({"join_link_ttl_seconds": 0}, "JOIN_LINK_TTL_SECONDS: Input should be greater than 0"),
        ({"poll_budget_per_second": -1}, "POLL_BUDGET_PER_SECOND: Input should be greater"),
    ],
)
def test_a_wrong_value_names_the_setting(overrides: dict[str, object], starts_with: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(**overrides)
    assert str(info.value).startswith(starts_with)
    assert "\n" not in str(info.value)


def test_an_api_key_without_a_secret_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAY_SECRET_KEY", raising=False)
    with pytest.raises(SettingsError, match="GATEWAY_SECRET_KEY: required"):
        load_settings(oneinbox_api_key="oi_sk_live_123456")


def test_local_mode_generates_and_keeps_a_secret_key(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.local_mode
    first = settings.secret_key()
    assert len(first) == 64
    assert load_settings(data_dir=tmp_path).secret_key() == first
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600


def test_admin_users_are_split_and_secrets_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_ADMIN_USERS", "U1, U2 U3")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-123-abc")
    settings = load_settings()
    assert settings.slack_admin_users == ["U1", "U2", "U3"]
    assert "xoxb-123-abc" in settings.secret_values()
    assert "xoxb-123-abc" not in repr(settings)


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("https://meet.example/?t={token}", "JOIN_URL_TEMPLATE: unknown placeholder {token}"),
        ("meet.example/{participant_token}", "JOIN_URL_TEMPLATE: must be an http://"),
        ("https://x/{participant_token!r}", "JOIN_URL_TEMPLATE: placeholders take no format"),
    ],
)
def test_a_bad_join_url_template_is_one_line(template: str, problem: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(join_url_template=template)
    assert str(info.value).startswith(problem)
