"""delivery envelope: a delivery carries its email's subject and Reply-To

Revision ID: 6c2a1fdf0b58
Revises: 68cdcc84719c
Create Date: 2026-12-06 01:40:00.000000

The outbox no longer reads threads to build a note's email: the subject and the reply
address are stored on each delivery when it is planned. Deliveries still to go out when this
runs get theirs here, as the code before it would have built them at send time.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core.config import get_settings
from app.core.security import sign

revision: str = "6c2a1fdf0b58"
down_revision: str | None = "68cdcc84719c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNSENT = "('queued', 'sending', 'review')"


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_subject", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("reply_to", sa.String(length=254), nullable=True))
    _envelopes_of_unsent_deliveries()


def _envelopes_of_unsent_deliveries() -> None:
    connection = op.get_bind()
    threads = connection.execute(
        sa.text(
            "SELECT DISTINCT threads.id, threads.subject FROM threads "
            "JOIN messages ON messages.thread_id = threads.id "
            "JOIN deliveries ON deliveries.message_id = messages.id "
            f"WHERE deliveries.status IN {UNSENT}"
        )
    ).all()
    if not threads:
        return
    settings = get_settings()
    key = settings.signing_key()
    # The reply address as messaging.tokens wrote it when this migration was made.
    envelopes = [
        {
            "thread_id": thread_id,
            "subject": (subject or None) and subject[:200],
            "reply_to": (
                f"reply+{thread_id}.{sign(key, f'thread:{thread_id}')[:16]}"
                f"@{settings.email_reply_domain}"
            ),
        }
        for thread_id, subject in threads
    ]
    connection.execute(
        sa.text(
            "UPDATE deliveries SET email_subject = :subject, reply_to = :reply_to "
            f"WHERE status IN {UNSENT} AND message_id IN "
            "(SELECT id FROM messages WHERE thread_id = :thread_id)"
        ),
        envelopes,
    )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("reply_to")
        batch_op.drop_column("email_subject")
