"""mms and summaries: a school may send one photo as MMS; an SMS remembers its photo

Revision ID: 5e1b7c9d2a40
Revises: 9d4e6b2a1f57
Create Date: 2026-12-06 11:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e1b7c9d2a40"
down_revision: str | None = "9d4e6b2a1f57"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("schools", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("mms_images", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("media_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_deliveries_media_id_attachments"),
            "attachments",
            ["media_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("dev_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("media_url", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dev_outbox", schema=None) as batch_op:
        batch_op.drop_column("media_url")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_deliveries_media_id_attachments"), type_="foreignkey"
        )
        batch_op.drop_column("media_id")
    with op.batch_alter_table("schools", schema=None) as batch_op:
        batch_op.drop_column("mms_images")
