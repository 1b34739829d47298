"""questions: a question on a broadcast, and the families' answers

Revision ID: 9a4f2c6e1d30
Revises: 5e0c1d7a9b21
Create Date: 2026-12-06 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "9a4f2c6e1d30"
down_revision: str | None = "5e0c1d7a9b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("reminder_message_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("deadline", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("remind_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("replace_answers", sa.Boolean(), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["broadcast_id"], ["broadcasts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.ForeignKeyConstraint(["reminder_message_id"], ["messages.id"]),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("broadcast_id"),
    )
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_questions_message_id"), ["message_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_questions_school_id"), ["school_id"], unique=False)
    op.create_table(
        "question_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("guardian_id", sa.Integer(), nullable=False),
        sa.Column("reply_message_id", sa.Integer(), nullable=True),
        sa.Column("value", sa.String(length=40), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("answered_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["guardian_id"], ["guardians.id"]),
        sa.ForeignKeyConstraint(["question_id"], ["questions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["reply_message_id"], ["messages.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("question_answers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_question_answers_current", ["question_id", "guardian_id", "current"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_question_answers_guardian_id"), ["guardian_id"], unique=False
        )

    op.create_table(
        "question_places",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("taken", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "taken >= 0 AND taken <= capacity", name=op.f("ck_question_places_taken")
        ),
        sa.ForeignKeyConstraint(["question_id"], ["questions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("question_id", "number"),
    )


def downgrade() -> None:
    op.drop_table("question_places")
    op.drop_table("question_answers")
    op.drop_table("questions")
