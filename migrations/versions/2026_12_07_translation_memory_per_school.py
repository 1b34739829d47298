"""translation memory per school: a person's translation is used again only at their school

Revision ID: 8c3e5a1f7b92
Revises: 4b7d2e9c1a63
Create Date: 2026-12-07 22:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8c3e5a1f7b92"
down_revision: str | None = "4b7d2e9c1a63"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("translation_memory", schema=None) as batch_op:
        batch_op.add_column(sa.Column("school_id", sa.Integer(), nullable=True))
    # A row written before: the school of the newest finished task that it came from, if
    # one still shows it; else none, and the row is not used again.
    op.execute(
        """
        UPDATE translation_memory SET school_id = (
            SELECT t.school_id FROM interpretation_tasks t
            WHERE t.status = 'done' AND t.text = translation_memory.translated
              AND t.language = translation_memory.target
            ORDER BY t.done_at DESC, t.id DESC LIMIT 1
        )
        """
    )
    with op.batch_alter_table("translation_memory", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_translation_memory_source_target_text_hash"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_translation_memory_school_id_source_target_text_hash"),
            ["school_id", "source", "target", "text_hash"],
        )
        batch_op.create_index(
            batch_op.f("ix_translation_memory_school_id"), ["school_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_translation_memory_school_id_schools"),
            "schools",
            ["school_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    op.execute("DELETE FROM translation_memory WHERE school_id IS NULL")
    # One row per text again, as before: the newest person's.
    op.execute(
        """
        DELETE FROM translation_memory WHERE id NOT IN (
            SELECT MAX(id) FROM translation_memory GROUP BY source, target, text_hash
        )
        """
    )
    with op.batch_alter_table("translation_memory", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_translation_memory_school_id_schools"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_translation_memory_school_id"))
        batch_op.drop_constraint(
            batch_op.f("uq_translation_memory_school_id_source_target_text_hash"),
            type_="unique",
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_translation_memory_source_target_text_hash"),
            ["source", "target", "text_hash"],
        )
        batch_op.drop_column("school_id")
