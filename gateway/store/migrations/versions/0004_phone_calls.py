"""phone calls: a call's type and the number it dialled

Revision ID: 0004_phone
Revises: 0003_limits
Create Date: 2026-11-26 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_phone"
down_revision: str | None = "0003_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(
            sa.Column("call_type", sa.String(16), nullable=False, server_default="web")
        )
        batch.add_column(sa.Column("to_number", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("to_number")
        batch.drop_column("call_type")
