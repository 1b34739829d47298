"""PostgreSQL: a pooled connection is tested before use only after it lay idle (app.core.db)."""

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from app.core import db


@pytest.fixture
def pg_engine(engine: Engine) -> Iterator[Engine]:
    """A server process's engine, as make_engine builds it, on the test database."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: a SQLite connection cannot be cut from outside")
    made = db.make_engine(engine.url.render_as_string(hide_password=False))
    yield made
    made.dispose()


def _backend(pg_engine: Engine) -> int:
    with pg_engine.connect() as conn:
        pid: int = conn.scalar(text("SELECT pg_backend_pid()"))
        return pid


def _cut(engine: Engine, pid: int) -> None:
    """End the server process behind a pooled connection, as a restart or a dropped network
    would, and wait (up to 10 s) until it is gone. (Not by polling pg_stat_activity: within
    one transaction it shows the same snapshot every time.)"""
    with engine.connect() as conn:
        gone = conn.scalar(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid})
    assert gone, f"backend {pid} still there"


def test_a_connection_that_lay_idle_is_tested_and_replaced_when_dead(
    pg_engine: Engine, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend(pg_engine)
    _cut(engine, first)
    monkeypatch.setattr(db, "PING_IDLE_SECONDS", 0.0)  # it has lain idle long enough
    second = _backend(pg_engine)  # no error: the dead connection was found and replaced
    assert second != first


def test_a_connection_used_a_moment_ago_is_not_tested(
    pg_engine: Engine, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No round trip before each use of a busy connection: a connection that died within the
    # idle time fails its statement, and the pool then replaces what it held.
    monkeypatch.setattr(db, "PING_IDLE_SECONDS", 60.0)
    first = _backend(pg_engine)
    _cut(engine, first)
    with pytest.raises(DBAPIError) as failed:
        _backend(pg_engine)
    assert failed.value.connection_invalidated
    assert _backend(pg_engine) != first
