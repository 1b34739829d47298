"""message translations say where their text comes from and how far it can be trusted

Rows from before this get their origin from their status (translated: the model;
same_language: nothing to translate); their quality stays unknown, so staff see their machine
translations as ones that may be wrong.

Revision ID: 5d3f0c9a7e21
Revises: 5e1f0a2b7c3d
Create Date: 2026-12-06 03:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d3f0c9a7e21"
down_revision: str | None = "5e1f0a2b7c3d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("message_translations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("quality_level", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("quality_score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("quality_reasons", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("test_model", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
    op.execute(
        "UPDATE message_translations SET origin = 'mt' "
        "WHERE status = 'translated' AND origin IS NULL"
    )
    op.execute(
        "UPDATE message_translations SET origin = 'same_language' "
        "WHERE status = 'same_language' AND origin IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("message_translations", schema=None) as batch_op:
        batch_op.drop_column("test_model")
        batch_op.drop_column("quality_reasons")
        batch_op.drop_column("quality_score")
        batch_op.drop_column("quality_level")
        batch_op.drop_column("origin")
