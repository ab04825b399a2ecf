"""slack tokens encrypted at rest: token columns wide enough for Fernet tokens

A Fernet token is about 1.4 times its plaintext plus 80 characters: a bot token still fits
200 characters, a refresh token (`xoxe-1-…`, about 150) does not. PostgreSQL gets TEXT
columns; SQLite never enforced the length. The tokens themselves are encrypted at start-up
by the Slack integration (it has the key; a migration does not), see
integrations/slack/installations.py.

Revision ID: 0008_slack_tokens
Revises: 0007_intents
Create Date: 2026-11-26 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_slack_tokens"
down_revision: str | None = "0007_intents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = {
    "slack_installations": (
        "bot_token",
        "bot_refresh_token",
        "user_token",
        "user_refresh_token",
    ),
    "slack_bots": ("bot_token", "bot_refresh_token"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, columns in COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, type_=sa.Text, existing_type=sa.String(200))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, columns in COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, type_=sa.String(200), existing_type=sa.Text)
