"""engagement goals: what an admin expects of the district or a school in a term

Revision ID: 5e1f0a2b7c3d
Revises: 3f1c9a7d2e40
Create Date: 2026-12-06 03:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "5e1f0a2b7c3d"
down_revision: str | None = "3f1c9a7d2e40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "engagement_goals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("term", sa.String(length=16), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("measure", sa.String(length=32), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("set_by_staff_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["set_by_staff_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("term", "school_id", "measure"),
    )
    with op.batch_alter_table("engagement_goals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_engagement_goals_school_id"), ["school_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("engagement_goals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_engagement_goals_school_id"))
    op.drop_table("engagement_goals")
