"""inbound media: photos and PDFs families send by MMS, fetched after the webhook

Revision ID: 9d4e6b2a1f57
Revises: 3c8a2f41d7e9
Create Date: 2026-12-06 11:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "9d4e6b2a1f57"
down_revision: str | None = "3c8a2f41d7e9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("declared_type", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachments.id"],
            name=op.f("fk_inbound_media_attachment_id_attachments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_inbound_media_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_media")),
        sa.UniqueConstraint(
            "message_id", "position", name=op.f("uq_inbound_media_message_id_position")
        ),
    )
    op.create_index(
        op.f("ix_inbound_media_message_id"), "inbound_media", ["message_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_inbound_media_message_id"), table_name="inbound_media")
    op.drop_table("inbound_media")
