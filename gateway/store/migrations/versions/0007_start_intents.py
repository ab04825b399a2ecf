"""start intents on idempotency keys

A key row also records the intent of a call start before OneInbox is asked: the start id sent
in the call's metadata, the agent, what tracking and delivery need, and the call id once it is
recorded. A reconciler resolves intents whose process died before recording.

Revision ID: 0007_intents
Revises: 0006_endpoints
Create Date: 2026-11-26 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_intents"
down_revision: str | None = "0006_endpoints"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("start_id", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("agent_id", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("intent", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("call_id", sa.String(64), nullable=True))
        batch_op.create_unique_constraint("uq_idempotency_keys_start_id", ["start_id"])
        batch_op.create_index("ix_idempotency_keys_state_created", ["state", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotency_keys_state_created")
        batch_op.drop_constraint("uq_idempotency_keys_start_id", type_="unique")
        batch_op.drop_column("call_id")
        batch_op.drop_column("intent")
        batch_op.drop_column("agent_id")
        batch_op.drop_column("start_id")
