"""voice calls: a family's reply recorded on a call

Revision ID: 5b1e7c0d9a42
Revises: fcf9713cb963
Create Date: 2026-12-06 07:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b1e7c0d9a42"
down_revision: str | None = "fcf9713cb963"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recording_url", sa.String(length=500), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_messages_recording_url"), ["recording_url"]
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_messages_recording_url"), type_="unique")
        batch_op.drop_column("recording_url")
