"""live transcripts: transcript turns and live feeds

Revision ID: 0005_live
Revises: 0004_phone
Create Date: 2026-11-25 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.store.tables

revision: str = "0005_live"
down_revision: str | None = "0004_phone"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, *, nullable: bool) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, gateway.store.tables.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "transcript_turns",
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("turn", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("role", sa.String(32), nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("final", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        _time("updated_at", nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("call_id", "turn"),
    )
    op.create_table(
        "live_feeds",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("destination", sa.String(32), nullable=False),
        sa.Column("destination_key", sa.String(512), nullable=False),
        sa.Column("wanted", sa.Integer, nullable=False),
        sa.Column("synced", sa.Integer, nullable=False),
        sa.Column("shown", sa.JSON, nullable=False),
        _time("next_attempt_at", nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        _time("lease_expires_at", nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        _time("updated_at", nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("call_id", "destination_key", name="uq_live_feed_dest"),
    )
    op.create_index("ix_live_feeds_call_id", "live_feeds", ["call_id"])
    op.create_index("ix_live_feeds_next_attempt_at", "live_feeds", ["next_attempt_at"])


def downgrade() -> None:
    op.drop_table("live_feeds")
    op.drop_table("transcript_turns")
