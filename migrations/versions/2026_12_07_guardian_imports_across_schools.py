"""guardian imports across schools: whether a guardians CSV may find another school's family

Revision ID: 4b7d2e9c1a63
Revises: 5e1b7c9d2a40
Create Date: 2026-12-07 22:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4b7d2e9c1a63"
down_revision: str | None = "5e1b7c9d2a40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("roster_imports", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("across_schools", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("roster_imports", schema=None) as batch_op:
        batch_op.drop_column("across_schools")
