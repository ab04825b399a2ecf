"""usage counters and live call holds (limits)

Revision ID: 0003_limits
Revises: 0002_slack
Create Date: 2026-11-25 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.store.tables

revision: str = "0003_limits"
down_revision: str | None = "0002_slack"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "usage_counters",
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("resets_at", gateway.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "subject", "kind", "period"),
    )
    op.create_index("ix_usage_counters_resets_at", "usage_counters", ["resets_at"])
    op.create_table(
        "live_call_holds",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", gateway.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_live_call_holds_expires_at", "live_call_holds", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_live_call_holds_expires_at", table_name="live_call_holds")
    op.drop_table("live_call_holds")
    op.drop_index("ix_usage_counters_resets_at", table_name="usage_counters")
    op.drop_table("usage_counters")
