"""inbox: accent-free search keys of people, per-staff read marks, answered replies

Revision ID: 3f1c9a7d2e40
Revises: 5e1d0a7c3b21
Create Date: 2026-12-06 03:40:00.000000

- staff, students and guardians get `search_key` (their names, email, phone in lowercase ASCII),
  filled here for the rows already there, as app/people/search.py fills it on every write.
- threads get `answered_through`: the replies up to it need no answer. Here: up to the latest
  message a staff member wrote in the thread.
- thread_read_marks: how far each staff member has read each thread. None yet: every reply
  is new to everyone once, as a new inbox would show it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from anyascii import anyascii

import app.core.db

revision: str = "3f1c9a7d2e40"
down_revision: str | None = "5e1d0a7c3b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The columns each table is searched by, as app/people/search.py had them at this revision.
SEARCHED = {
    "guardians": ("given_name", "family_name", "email", "phone"),
    "students": ("given_name", "family_name", "external_id"),
    "staff": ("name", "email"),
}
BATCH = 1000


def _key(values: sa.Row) -> str:
    text = " ".join(str(v) for v in values if v)
    return " ".join(anyascii(text).casefold().split())


def _fill_search_keys(table_name: str, columns: tuple[str, ...]) -> None:
    connection = op.get_bind()
    table = sa.table(table_name, sa.column("id"), sa.column("search_key"), *map(sa.column, columns))
    update = (
        table.update()
        .where(table.c.id == sa.bindparam("b_id"))
        .values(search_key=sa.bindparam("b_key"))
    )
    last = 0
    while True:
        rows = connection.execute(
            sa.select(table.c.id, *(table.c[c] for c in columns))
            .where(table.c.id > last)
            .order_by(table.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        connection.execute(update, [{"b_id": r[0], "b_key": _key(r[1:])} for r in rows])
        last = rows[-1][0]


def upgrade() -> None:
    for table_name, columns in SEARCHED.items():
        with op.batch_alter_table(table_name, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("search_key", sa.Text(), server_default="", nullable=False)
            )
        _fill_search_keys(table_name, columns)

    with op.batch_alter_table("threads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answered_through", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE threads SET answered_through = (SELECT MAX(messages.id) FROM messages "
        "WHERE messages.thread_id = threads.id AND messages.direction = 'outbound' "
        "AND messages.author_staff_id IS NOT NULL)"
    )

    op.create_table(
        "thread_read_marks",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("read_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["thread_id"], ["threads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("staff_id", "thread_id"),
    )
    with op.batch_alter_table("thread_read_marks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_thread_read_marks_thread_id"), ["thread_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("thread_read_marks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_thread_read_marks_thread_id"))
    op.drop_table("thread_read_marks")
    with op.batch_alter_table("threads", schema=None) as batch_op:
        batch_op.drop_column("answered_through")
    for table_name in reversed(SEARCHED):
        with op.batch_alter_table(table_name, schema=None) as batch_op:
            batch_op.drop_column("search_key")
