"""language engines: the translation engine an admin chose per language

Revision ID: 5e1d0a7c3b21
Revises: 9a4f2c6e1d30
Create Date: 2026-12-06 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "5e1d0a7c3b21"
down_revision: str | None = "9a4f2c6e1d30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "language_engines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("engine", sa.String(length=16), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_language_engines")),
        sa.UniqueConstraint("language", name=op.f("uq_language_engines_language")),
    )


def downgrade() -> None:
    op.drop_table("language_engines")
