"""OAuth installations in the gateway's store, their tokens encrypted at rest.

slack_sdk's `AsyncSQLAlchemyInstallationStore` keeps an installation's tokens in plain text
(`slack_installations`, `slack_bots`). This subclass seals every token with a key derived
from `GATEWAY_SECRET_KEY` (`gateway.sealing`) before the library writes it, and opens it after
the library reads it, so bolt and the gateway still see plain tokens and the tables never
hold one.

Rows written before encryption (plain) or with a previous key are still read, and
`reseal_stored` (run at start-up) rewrites them with the current key: the re-encryption
happens at start-up, not in a migration (a migration would need the key).

Every query of Slack's tables is here (the core's store never names a platform's tables).
"""

from __future__ import annotations

import copy
from typing import Any

import sqlalchemy as sa
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.sealing import Sealer, UnreadableSecretError
from gateway.settings import Settings

PURPOSE = "Slack token"
# The token columns of each table (the rest is not secret).
BOT_TOKENS = ("bot_token", "bot_refresh_token")
INSTALLATION_TOKENS = (*BOT_TOKENS, "user_token", "user_refresh_token")


def token_sealer(settings: Settings) -> Sealer:
    """The sealer of Slack tokens: `GATEWAY_SECRET_KEY` (in local mode the data dir's key)
    and `GATEWAY_PREVIOUS_SECRET_KEYS`."""
    return Sealer(PURPOSE, settings.secret_key(), settings.previous_secret_keys())


class SealedInstallationStore(AsyncSQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy installation store, with every token encrypted at rest."""

    def __init__(self, client_id: str, engine: AsyncEngine, sealer: Sealer) -> None:
        super().__init__(client_id=client_id, engine=engine)
        self.sealer = sealer

    def _sealed(self, entity: Any, fields: tuple[str, ...]) -> Any:
        sealed = copy.copy(entity)
        for name in fields:
            value = getattr(sealed, name, None)
            if value and not self.sealer.is_sealed(value):
                setattr(sealed, name, self.sealer.seal(value))
        return sealed

    def _opened(self, entity: Any, fields: tuple[str, ...]) -> Any:
        for name in fields:
            value = getattr(entity, name, None)
            if value:
                setattr(entity, name, self.sealer.open(value))
        return entity

    async def async_save(self, installation: Installation) -> None:
        """Store the installation (and its bot) with sealed tokens."""
        await super().async_save(self._sealed(installation, INSTALLATION_TOKENS))

    async def async_save_bot(self, bot: Bot) -> None:
        """Store the bot with sealed tokens (already sealed ones are kept as they are)."""
        await super().async_save_bot(self._sealed(bot, BOT_TOKENS))

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        """The latest bot of a workspace, tokens opened (`UnreadableSecretError` when sealed
        with a key the gateway no longer has)."""
        bot = await super().async_find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return None if bot is None else self._opened(bot, BOT_TOKENS)

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        """The latest installation, tokens opened."""
        found = await super().async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        return None if found is None else self._opened(found, INSTALLATION_TOKENS)

    async def bot_teams(self, *, limit: int) -> list[str | None]:
        """Up to `limit` distinct workspaces (team ids) this app has a bot in."""
        query = (
            sa.select(self.bots.c.team_id)
            .where(self.bots.c.client_id == self.client_id)
            .distinct()
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [row[0] for row in await conn.execute(query)]

    async def reseal_stored(self, *, dry_run: bool = False) -> int:
        """Encrypt every token stored plain or with a previous key with the current key; the
        number of rows rewritten (with `dry_run`, to rewrite: nothing is written). Raises
        `UnreadableSecretError` naming the workspaces whose tokens no configured key opens
        (nothing is changed then)."""
        updates: list[tuple[sa.Table, int, dict[str, str]]] = []
        unreadable: set[str] = set()
        async with self.engine.begin() as conn:
            for table, fields in (
                (self.installations, INSTALLATION_TOKENS),
                (self.bots, BOT_TOKENS),
            ):
                columns = [table.c.id, table.c.team_id, *(table.c[name] for name in fields)]
                rows = await conn.execute(
                    sa.select(*columns).where(table.c.client_id == self.client_id)
                )
                for row in rows.mappings():
                    changed: dict[str, str] = {}
                    for name in fields:
                        value = row[name]
                        try:
                            if value and self.sealer.needs_resealing(value):
                                changed[name] = self.sealer.reseal(value)
                        except UnreadableSecretError:
                            unreadable.add(str(row["team_id"] or row["id"]))
                    if changed:
                        updates.append((table, row["id"], changed))
            if unreadable:
                raise UnreadableSecretError(
                    f"the stored Slack tokens of workspace(s) {', '.join(sorted(unreadable))} "
                    "were encrypted with another GATEWAY_SECRET_KEY: set the key they were "
                    "stored with in GATEWAY_PREVIOUS_SECRET_KEYS (or install the app there again)"
                )
            for table, row_id, changed in [] if dry_run else updates:
                await conn.execute(sa.update(table).where(table.c.id == row_id).values(**changed))
        return len(updates)
