"""Deliveries waiting when the envelope columns arrive (a note's email subject and Reply-To,
stored on each delivery since) get the envelope they would have been sent with."""

import uuid
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import create_engine, insert, text

from app.core.db import utcnow
from app.core.migrations import alembic_config
from app.delivery.models import Delivery
from app.messaging.models import Message, Thread
from app.messaging.tokens import reply_address
from app.people.models import Guardian
from app.schools.models import School

BEFORE_ENVELOPES = "68cdcc84719c"


@pytest.fixture
def empty_database(engine, tmp_path) -> Iterator[str]:
    """A brand-new, empty database of the same kind as the test database."""
    if engine.dialect.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'envelope.db'}"
        return
    name = f"hearth_envelope_{uuid.uuid4().hex[:8]}"
    admin = create_engine(engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield engine.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_deliveries_waiting_at_the_upgrade_get_the_envelope_they_would_have_been_sent_with(
    empty_database,
):
    engine = create_engine(empty_database)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), BEFORE_ENVELOPES)
            school = conn.execute(insert(School).values(name="Riverside")).inserted_primary_key[0]
            guardian = conn.execute(
                insert(Guardian).values(given_name="María", family_name="Ruiz", language="es")
            ).inserted_primary_key[0]
            rows = {}
            for subject, status in (("Attendance", "queued"), ("", "review"), ("Old", "sent")):
                thread = conn.execute(
                    insert(Thread).values(school_id=school, subject=subject)
                ).inserted_primary_key[0]
                message = conn.execute(
                    insert(Message).values(
                        thread_id=thread, direction="outbound", body="Hello", language="en"
                    )
                ).inserted_primary_key[0]
                conn.execute(
                    insert(Delivery).values(
                        message_id=message, guardian_id=guardian, school_id=school,
                        channel="email", address="maria@family.example.org", language="es",
                        body="Hola", status=status, created_at=utcnow(), updated_at=utcnow(),
                    )
                )  # fmt: skip
                rows[status] = thread
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
            envelopes = {
                status: (subject, reply_to)
                for status, subject, reply_to in conn.execute(
                    text("SELECT status, email_subject, reply_to FROM deliveries")
                )
            }
    finally:
        engine.dispose()
    assert envelopes == {
        "queued": ("Attendance", reply_address(rows["queued"])),
        "review": (None, reply_address(rows["review"])),  # no subject: the school's name
        "sent": (None, None),  # gone out already: nothing to send it with
    }
