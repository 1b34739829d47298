"""Rows in bulk: ids in the rows' order, defaults as INSERT gives them, types as the columns
want them; on PostgreSQL by COPY (no INSERT statement at all)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.bulk import insert_rows
from app.people.models import Guardian


def _inserts(session: Session) -> list[str]:
    seen: list[str] = []

    @event.listens_for(session.connection(), "before_cursor_execute")
    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if statement.lstrip().upper().startswith("INSERT"):
            seen.append(statement)

    return seen


def test_ids_come_back_in_the_rows_order_with_defaults_and_types(session: Session) -> None:
    inserts = _inserts(session)
    rows = [
        {"given_name": "Ana", "family_name": f"Row {i}", "phone": f"+1512555{i:04d}"}
        for i in range(7_003)  # more than one page of INSERT
    ]
    before = datetime.now(UTC)
    ids = insert_rows(session, Guardian, rows, returning_ids=True)

    assert len(set(ids)) == len(rows)
    got = dict(
        session.execute(
            select(Guardian.id, Guardian.family_name).where(Guardian.id.in_(ids[:50] + ids[-50:]))
        ).all()
    )
    assert [got[i] for i in ids[:50] + ids[-50:]] == [
        r["family_name"] for r in rows[:50] + rows[-50:]
    ]
    guardian = session.get(Guardian, ids[-1])
    assert guardian is not None
    # Python defaults (a callable JSON list, constants, the time) and the server's.
    assert guardian.channels == ["sms"]
    assert guardian.language == "en" and guardian.active is True
    assert guardian.channels_confirmed is False and guardian.search_key == ""
    assert before - timedelta(seconds=1) <= guardian.created_at <= datetime.now(UTC)
    if session.get_bind().dialect.name == "postgresql":
        assert inserts == []  # COPY
    else:
        assert inserts


def test_given_values_keep_their_types(session: Session) -> None:
    when = datetime(2026, 12, 3, 5, 30, tzinfo=UTC)
    rows = [
        {
            "given_name": "Bảo",
            "family_name": "Tab\there, new\nline, back\\slash",
            "channels": ["email", "sms"],
            "email": None,
            "active": False,
            "created_at": when,
        }
    ]
    (new_id,) = insert_rows(session, Guardian, rows, returning_ids=True)
    guardian = session.get(Guardian, new_id)
    assert guardian is not None
    assert guardian.family_name == "Tab\there, new\nline, back\\slash"
    assert guardian.given_name == "Bảo"
    assert guardian.channels == ["email", "sms"] and guardian.email is None
    assert guardian.active is False and guardian.created_at == when


def test_without_ids_and_nothing_to_insert(session: Session) -> None:
    assert insert_rows(session, Guardian, []) == []
    count = len(session.scalars(select(Guardian.id)).all())
    assert insert_rows(session, Guardian, [{"given_name": "A", "family_name": "B"}] * 3) == []
    assert len(session.scalars(select(Guardian.id)).all()) == count + 3


def test_a_refused_row_fails_as_sqlalchemy_reports_it_and_writes_nothing(session: Session) -> None:
    """A unique key already taken (another import, the API, at the same moment): the
    database's refusal comes as SQLAlchemy's IntegrityError on every database (a roster import
    says "the database refused the import" with the database's reason), and none of the rows
    stay."""
    insert_rows(session, Guardian, [{"given_name": "A", "family_name": "B", "external_id": "G1"}])
    count = len(session.scalars(select(Guardian.id)).all())
    rows = [{"given_name": "C", "family_name": "D", "external_id": f"G{i}"} for i in (2, 3, 1, 4)]
    with pytest.raises(IntegrityError), session.begin_nested():
        insert_rows(session, Guardian, rows, returning_ids=True)
    assert len(session.scalars(select(Guardian.id)).all()) == count
