"""endpoint health (auto-disable) and the secrets that signed each try

Revision ID: 0006_endpoints
Revises: 0005_live
Create Date: 2026-11-26 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.store.tables

revision: str = "0006_endpoints"
down_revision: str | None = "0005_live"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    when = gateway.store.tables.UTCDateTime(timezone=True)
    op.create_table(
        "endpoints",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("destination", sa.String(length=32), nullable=False),
        sa.Column("destination_key", sa.String(length=512), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("last_success_at", when, nullable=True),
        sa.Column("last_failure_at", when, nullable=True),
        sa.Column("failing_since", when, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("disabled_at", when, nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("enabled_at", when, nullable=True),
        sa.Column("enabled_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("destination", "destination_key", name="uq_endpoint_target"),
    )
    op.create_index("ix_endpoints_disabled_at", "endpoints", ["disabled_at"])
    with op.batch_alter_table("delivery_attempts") as batch:
        batch.add_column(sa.Column("signed_by", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery_attempts") as batch:
        batch.drop_column("signed_by")
    op.drop_index("ix_endpoints_disabled_at", table_name="endpoints")
    op.drop_table("endpoints")
