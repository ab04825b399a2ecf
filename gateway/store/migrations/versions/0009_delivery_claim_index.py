"""the outbox's claim walks an index on (state, next_attempt_at)

The claim asks for pending deliveries that are due, earliest first. With an index on `state`
alone SQLite chose it and sorted every pending delivery on each claim; the composite index
answers the claim in order and stops at its limit. It replaces the index on `state`, whose
look-ups it serves as well.

Revision ID: 0009_delivery_claim
Revises: 0008_slack_tokens
Create Date: 2026-11-26 23:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_delivery_claim"
down_revision: str | None = "0008_slack_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_deliveries_state_next_attempt_at", "deliveries", ["state", "next_attempt_at"]
    )
    op.drop_index("ix_deliveries_state", table_name="deliveries")


def downgrade() -> None:
    op.create_index("ix_deliveries_state", "deliveries", ["state"])
    op.drop_index("ix_deliveries_state_next_attempt_at", table_name="deliveries")
