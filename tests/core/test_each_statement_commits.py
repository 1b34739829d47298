"""PostgreSQL: a transaction of one statement committed as it runs (app.core.db)."""

import warnings
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from app.core import db


@pytest.fixture
def pg_engine(engine: Engine) -> Iterator[Engine]:
    """A server process's engine, as make_engine builds it, with a table of its own."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no round trips to save, and is left as it is")
    made = db.make_engine(engine.url.render_as_string(hide_password=False))
    with made.begin() as conn:
        conn.execute(text("CREATE TABLE each_statement (n integer)"))
    yield made
    with made.begin() as conn:
        conn.execute(text("DROP TABLE each_statement"))
    made.dispose()


def _seen_from_outside(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.scalars(text("SELECT n FROM each_statement ORDER BY n")))


def _backend(session: Session) -> int:
    pid: int = session.scalar(text("SELECT pg_backend_pid()"))
    return pid


def test_each_statement_is_committed_as_it_runs_and_the_next_transaction_is_whole(
    pg_engine: Engine, engine: Engine
) -> None:
    with Session(pg_engine) as session:
        db.each_statement_commits(session)
        session.execute(text("INSERT INTO each_statement VALUES (1)"))
        assert _seen_from_outside(engine) == [1]  # committed before the session commits
        first = _backend(session)
        session.commit()

    # The same pooled connection, back to whole transactions: nothing is seen before the
    # commit, and a rollback undoes it.
    with Session(pg_engine) as session:
        assert _backend(session) == first
        session.execute(text("INSERT INTO each_statement VALUES (2)"))
        assert _seen_from_outside(engine) == [1]
        session.rollback()
    assert _seen_from_outside(engine) == [1]


def test_a_transaction_under_way_is_left_whole(pg_engine: Engine, engine: Engine) -> None:
    with Session(pg_engine) as session:
        session.execute(text("INSERT INTO each_statement VALUES (1)"))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # (quietly: no option given too late to take)
            db.each_statement_commits(session)  # too late: this transaction began already
        session.execute(text("INSERT INTO each_statement VALUES (2)"))
        assert _seen_from_outside(engine) == []
        session.rollback()
    assert _seen_from_outside(engine) == []
