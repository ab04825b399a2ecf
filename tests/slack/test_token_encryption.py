"""OAuth installations' tokens are encrypted at rest, keyed from GATEWAY_SECRET_KEY.

A real install through the gateway (bolt's OAuth flow against the fake Slack), then the
tables read as they are on disk: no token in them. Rotation with GATEWAY_PREVIOUS_SECRET_KEYS,
rows stored plain before encryption, and a wrong key (a real `serve` process) are covered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
import sqlalchemy as sa
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore

from gateway.sealing import Sealer
from gateway.store.database import Database
from integrations.slack.installations import PURPOSE, SealedInstallationStore
from tests.slack.conftest import BOT_TOKEN, SlackRig, make_rig
from tests.slack.test_oauth import install
from tests.support.servers import free_port, wait_until

KEY_A = "first-gateway-secret-key-0123456789"
KEY_B = "second-gateway-secret-key-9876543210"
KEY_WRONG = "a-key-nobody-stored-anything-with-000"
CLIENT = {
    "slack_bot_token": None,
    "slack_client_id": "1234.5678",
    "slack_client_secret": "oauth-client-secret-value",
    "public_base_url": "https://gw.example",
}


def oauth_rig(tmp_path: Path, key: str, **more: object) -> AbstractContextManager[SlackRig]:
    """A gateway in OAuth mode with `key` as GATEWAY_SECRET_KEY (stopped when the block ends)."""
    rig: Iterator[SlackRig] = make_rig(tmp_path, gateway_secret_key=key, **CLIENT, **more)
    return contextlib.contextmanager(lambda: rig)()


async def stored_tokens(database_url: str) -> list[str]:
    """Every token column of both tables, as stored (no None)."""
    db = Database(database_url)
    try:
        async with db.engine.connect() as conn:
            found: list[str] = []
            for query in (
                "SELECT bot_token, bot_refresh_token, user_token, user_refresh_token "
                "FROM slack_installations",
                "SELECT bot_token, bot_refresh_token FROM slack_bots",
            ):
                for row in await conn.execute(sa.text(query)):
                    found += [value for value in row if value is not None]
            return found
    finally:
        await db.dispose()


def tokens_in_store(database_url: str) -> list[str]:
    return asyncio.run(stored_tokens(database_url))


def a_command_posts_with_the_token(rig: SlackRig) -> None:
    rig.command("call sales")
    wait_until(lambda: rig.fake.posts("C0GENERAL"), timeout=20, what="the call card")
    assert rig.fake.called("chat.postMessage")[0].token == BOT_TOKEN


def test_the_stored_columns_hold_no_token_and_commands_still_work(tmp_path: Path) -> None:
    with oauth_rig(tmp_path, KEY_A) as rig:
        assert install(rig).status_code == 200
        a_command_posts_with_the_token(rig)
        stored = tokens_in_store(rig.database_url)
    assert len(stored) == 2  # the installation's bot token and the bot's
    for value in stored:
        # Not `"xox" not in value`: a ciphertext holds those three letters by chance (~0.1 %).
        assert BOT_TOKEN not in value and not value.startswith("xox")
        assert Sealer(PURPOSE, KEY_A.encode()).open(value) == BOT_TOKEN
    with pytest.raises(Exception, match="GATEWAY_PREVIOUS_SECRET_KEYS"):
        Sealer(PURPOSE, KEY_B.encode()).open(stored[0])


def test_rotation_reads_old_tokens_and_encrypts_them_again_with_the_new_key(
    tmp_path: Path,
) -> None:
    with oauth_rig(tmp_path, KEY_A) as rig:
        assert install(rig).status_code == 200
        database_url = rig.database_url
    before = tokens_in_store(database_url)

    # The new key, the old one as previous: start-up re-encrypts, commands work.
    with oauth_rig(tmp_path, KEY_B, gateway_previous_secret_keys=f"x-retired, {KEY_A}") as rig:
        a_command_posts_with_the_token(rig)
    after = tokens_in_store(database_url)
    assert after != before
    new_key_only = Sealer(PURPOSE, KEY_B.encode())
    assert [new_key_only.open(v) for v in after] == [BOT_TOKEN, BOT_TOKEN]

    # The old key can be dropped now: the store opens every token with the new key alone.
    async def bot_token_with_the_new_key_only() -> str | None:
        db = Database(database_url)
        try:
            store = SealedInstallationStore("1234.5678", db.engine, new_key_only)
            bot = await store.async_find_bot(enterprise_id=None, team_id="T0001")
            found = await store.async_find_installation(enterprise_id=None, team_id="T0001")
            assert found is not None and found.bot_token == BOT_TOKEN
            return None if bot is None else bot.bot_token
        finally:
            await db.dispose()

    assert asyncio.run(bot_token_with_the_new_key_only()) == BOT_TOKEN


def test_rows_stored_plain_before_encryption_are_read_then_encrypted(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"

    async def old_install() -> None:
        db = Database(database_url)
        try:
            await db.migrate()
            # What the gateway stored before encryption: slack_sdk's own store, plain.
            plain = AsyncSQLAlchemyInstallationStore(client_id="1234.5678", engine=db.engine)
            await plain.async_save(
                Installation(
                    app_id="A1",
                    enterprise_id=None,
                    team_id="T0001",
                    user_id="U1",
                    bot_token=BOT_TOKEN,
                    bot_id="B1",
                    bot_user_id="UBOT",
                    bot_scopes=["commands", "chat:write"],
                )
            )
        finally:
            await db.dispose()

    asyncio.run(old_install())
    assert tokens_in_store(database_url) == [BOT_TOKEN, BOT_TOKEN]
    with oauth_rig(tmp_path, KEY_A, database_url=database_url) as rig:
        stored = tokens_in_store(database_url)
        assert all(BOT_TOKEN not in v for v in stored) and len(stored) == 2
        a_command_posts_with_the_token(rig)


def test_a_wrong_key_stops_serve_with_a_clear_line_and_changes_nothing(tmp_path: Path) -> None:
    with oauth_rig(tmp_path, KEY_A) as rig:
        assert install(rig).status_code == 200
        database_url = rig.database_url
    before = tokens_in_store(database_url)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path / "data"),
        "ONEINBOX_API_KEY": "",
        "GATEWAY_SECRET_KEY": KEY_WRONG,
        "SLACK_SIGNING_SECRET": "signing-secret-value",
        "SLACK_CLIENT_ID": "1234.5678",
        "SLACK_CLIENT_SECRET": "oauth-client-secret-value",
        "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",
        "LOG_FORMAT": "json",
    }
    env.pop("SLACK_BOT_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert '"event": "slack.tokens_unreadable"' in output
    assert (
        "the stored Slack tokens of workspace(s) T0001 were encrypted with another "
        "GATEWAY_SECRET_KEY: set the key they were stored with in GATEWAY_PREVIOUS_SECRET_KEYS"
    ) in output
    assert BOT_TOKEN not in output and KEY_WRONG not in output and KEY_A not in output
    assert tokens_in_store(database_url) == before

    # `check` says so before any restart; with the right key it says the tokens are fine.
    def slack_tokens_row(key: str) -> tuple[int, dict[str, object]]:
        done = subprocess.run(
            [sys.executable, "-m", "gateway", "check", "--json"],
            env={**env, "GATEWAY_SECRET_KEY": key},
            capture_output=True,
            text=True,
            timeout=120,
        )
        report = json.loads(done.stdout)
        (row,) = [r for r in report["checks"] if r["name"] == "slack tokens"]
        return done.returncode, row

    code, row = slack_tokens_row(KEY_WRONG)
    assert code == 1 and row["ok"] is False
    assert "GATEWAY_PREVIOUS_SECRET_KEYS" in str(row["detail"])
    _, row = slack_tokens_row(KEY_A)
    assert row == {
        "name": "slack tokens",
        "ok": True,
        "detail": "stored tokens readable with GATEWAY_SECRET_KEY",
    }


def test_long_refresh_tokens_fit_once_encrypted(database_url: str) -> None:
    """Token rotation's refresh tokens (~150 characters) grow past the library's 200 once
    encrypted: the token columns are TEXT on PostgreSQL (migration 0008_slack_tokens)."""
    refresh = "xoxe-1-" + "A1b2C3d4E5" * 15
    sealer = Sealer(PURPOSE, KEY_A.encode())

    async def save_and_read() -> tuple[str | None, str | None]:
        db = Database(database_url)
        try:
            await db.migrate()
            store = SealedInstallationStore("1234.5678", db.engine, sealer)
            await store.async_save(
                Installation(
                    app_id="A1",
                    enterprise_id=None,
                    team_id="T0001",
                    user_id="U1",
                    bot_token=BOT_TOKEN,
                    bot_refresh_token=refresh,
                    bot_id="B1",
                    bot_user_id="UBOT",
                    user_token="xoxp-" + "9" * 60,
                    user_refresh_token=refresh,
                )
            )
            bot = await store.async_find_bot(enterprise_id=None, team_id="T0001")
            found = await store.async_find_installation(enterprise_id=None, team_id="T0001")
            assert bot is not None and found is not None
            assert found.user_token == "xoxp-" + "9" * 60
            return bot.bot_refresh_token, found.user_refresh_token
        finally:
            await db.dispose()

    assert asyncio.run(save_and_read()) == (refresh, refresh)
    stored = tokens_in_store(database_url)
    plain = (BOT_TOKEN, refresh, "xoxp-" + "9" * 60)
    assert len(stored) == 6
    assert not any(v.startswith("xox") or any(p in v for p in plain) for v in stored)
    assert max(len(v) for v in stored) > 200
