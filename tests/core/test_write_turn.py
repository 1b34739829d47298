"""SQLite's writers take turns at lock files (app/core/db.WriteTurn): a request's write goes
before a waiting queue job's, a job still gets its turn under a flood of requests, waiting too
long fails like SQLite, and a process killed holding the turn lets go of it."""

import fcntl
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from app.core import db
from app.core.db import READ_ONLY, WriteTurn, background_writes, make_engine

ROOT = Path(__file__).resolve().parents[2]


def _engine(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'turn.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE log (who TEXT)"))
    return engine


def _write(engine, who: str, *, job: bool = False) -> None:
    def run() -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO log VALUES (:who)"), {"who": who})

    if job:
        with background_writes():
            run()
    else:
        run()


def _waiting(tmp_path: Path, target, *args, **kwargs) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, kwargs=kwargs, daemon=True)
    thread.start()
    time.sleep(0.2)  # it is waiting for the turn now
    return thread


def test_a_waiting_request_writes_before_a_job_that_waited_longer(tmp_path):
    turn = WriteTurn(tmp_path / "x.db", timeout=10, patience=5)
    order: list[str] = []

    def write(who: str) -> None:
        handles = turn.handles()
        turn.take(handles)
        order.append(who)
        turn.give_back(handles)

    def job() -> None:
        with background_writes():
            write("job")

    holder = turn.handles()
    turn.take(holder)  # a write transaction under way
    waiting_job = _waiting(tmp_path, job)
    waiting_request = _waiting(tmp_path, write, "request")
    assert order == []  # both wait
    turn.give_back(holder)
    for thread in (waiting_job, waiting_request):
        thread.join(10)
        assert not thread.is_alive()
    assert order == ["request", "job"]


def test_writes_through_the_engine_take_turns(tmp_path):
    engine = _engine(tmp_path)
    holder = engine.connect()
    holder.begin()
    holder.execute(text("INSERT INTO log VALUES ('first')"))
    job = _waiting(tmp_path, _write, engine, "job", job=True)
    with engine.connect().execution_options(**{READ_ONLY: True}) as reader:  # reads never wait
        assert reader.execute(text("SELECT count(*) FROM log")).scalar() == 0
    holder.commit()
    holder.close()
    job.join(10)
    assert not job.is_alive()
    with engine.connect() as reader:
        order = reader.execute(text("SELECT who FROM log ORDER BY rowid")).scalars().all()
    assert order == ["first", "job"]


def test_a_read_sends_its_statements_alone(tmp_path):
    """A read-only connection opens no transaction: a lookup is one statement, not three
    (BEGIN, the SELECT, COMMIT), and it still sees what was committed before it."""
    engine = _engine(tmp_path)
    _write(engine, "first")
    sent: list[str] = []  # every statement SQLite is given, from a new connection on
    engine.dispose()
    event.listen(engine, "connect", lambda dbapi, _: dbapi.set_trace_callback(sent.append))
    with engine.connect().execution_options(**{READ_ONLY: True}) as reader, reader.begin():
        assert reader.execute(text("SELECT who FROM log")).scalars().all() == ["first"]
    assert sent == ["SELECT who FROM log"]
    sent.clear()
    _write(engine, "second")  # a write still begins its own (immediate) transaction
    assert sent[0] == "BEGIN IMMEDIATE"


def test_reads_have_a_pool_of_their_own_that_keeps_its_connections(tmp_path, monkeypatch):
    """On a SQLite file, read_session's connections come from a pool of their own, as large as
    a server's thread pool: 16 reads at once open 16 connections once and keep them (the
    shared pool keeps 5 and opened and closed a connection for every read beyond), and they
    wait for no writer: a transaction holding the write lock throughout holds none of them
    up, and none of them sees its row before it commits."""
    writer = _engine(tmp_path)
    _write(writer, "first")
    url = f"sqlite:///{tmp_path / 'turn.db'}"
    monkeypatch.setattr(db, "_override", None)  # the tests' own sessions are not these
    monkeypatch.setattr(db, "get_settings", lambda: SimpleNamespace(sqlalchemy_url=url))
    monkeypatch.setattr(db, "get_engine", lambda: writer)
    db.get_sessionmaker.cache_clear()  # type: ignore[attr-defined]
    reads = db._read_engine()
    assert reads is not None and reads is not writer
    opened: list[object] = []
    event.listen(reads, "connect", lambda dbapi, _: opened.append(dbapi))
    together = threading.Barrier(16)
    seen: list[object] = []

    def read() -> None:
        try:
            with db.read_session() as session:
                seen.append(session.execute(text("SELECT who FROM log")).scalars().all())
                together.wait(timeout=10)
        except Exception as error:  # noqa: BLE001 - the test reports it
            seen.append(error)

    try:
        with writer.begin() as conn:
            conn.execute(text("INSERT INTO log VALUES ('not yet')"))
            for _ in range(2):
                threads = [threading.Thread(target=read) for _ in range(16)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=20)
                assert not any(thread.is_alive() for thread in threads)
        assert seen == [["first"]] * 32
        assert len(opened) == 16
    finally:
        db.get_sessionmaker.cache_clear()  # type: ignore[attr-defined]


def test_a_begin_that_fails_raises_like_any_statement_and_gives_the_turn_back(tmp_path):
    engine = _engine(tmp_path)
    with engine.connect() as conn:
        conn.connection.driver_connection.execute("BEGIN")  # behind SQLAlchemy's back
        with pytest.raises(OperationalError, match="within a transaction"):
            conn.begin()
        if conn.connection.driver_connection.in_transaction:
            conn.connection.driver_connection.execute("ROLLBACK")
        other = _waiting(tmp_path, _write, engine, "next")
        other.join(5)
        assert not other.is_alive()  # the connection does not hold the turn it failed to use


def test_a_turn_waited_for_too_long_fails_like_a_locked_database(tmp_path, monkeypatch):
    """The error a job's retry looks for (delivery.tasks.DATABASE_DOWN): SQLAlchemy's, not
    sqlite3's."""
    engine = _engine(tmp_path)

    def too_long(self, handles):  # what take() raises past its timeout (tested below)
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(WriteTurn, "take", too_long)
    with pytest.raises(OperationalError, match="database is locked"):
        _write(engine, "late")
    monkeypatch.undo()
    _write(engine, "next")
    with engine.connect() as reader:
        assert reader.execute(text("SELECT who FROM log")).scalars().all() == ["next"]


def test_a_rolled_back_write_gives_the_turn_back(tmp_path):
    engine = _engine(tmp_path)
    with engine.connect() as conn:
        conn.begin()
        conn.execute(text("INSERT INTO log VALUES ('undone')"))
        conn.rollback()
        other = _waiting(tmp_path, _write, engine, "next")
        other.join(5)
        assert not other.is_alive()  # it did not wait for the first connection to close
    with engine.connect() as reader:
        assert reader.execute(text("SELECT who FROM log")).scalars().all() == ["next"]


def test_a_job_is_not_held_back_longer_than_its_patience(tmp_path):
    turn = WriteTurn(tmp_path / "x.db", timeout=10, patience=0.3)
    flooding = turn.handles()
    fcntl.flock(flooding[1], fcntl.LOCK_SH)  # a request that waits and waits
    job = turn.handles()
    started = time.monotonic()
    with background_writes():
        turn.take(job)
    waited = time.monotonic() - started
    assert 0.3 <= waited < 3
    turn.give_back(job)


def test_waiting_past_the_busy_timeout_fails_like_sqlite(tmp_path):
    turn = WriteTurn(tmp_path / "x.db", timeout=0.3)
    first, second = turn.handles(), turn.handles()
    turn.take(first)
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        turn.take(second)
    turn.give_back(first)
    turn.take(second)  # nothing was left held by the refused wait
    turn.give_back(second)


def test_a_process_killed_holding_the_turn_lets_go_at_once(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from app.core.db import WriteTurn\n"
            "turn = WriteTurn(Path(sys.argv[1]), timeout=5)\n"
            "held = turn.handles()\n"
            "turn.take(held)\n"
            "print('held', flush=True)\n"
            "time.sleep(60)\n",
            str(tmp_path / "x.db"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        turn = WriteTurn(tmp_path / "x.db", timeout=0.3)
        mine = turn.handles()
        with pytest.raises(sqlite3.OperationalError):
            turn.take(mine)  # really held by the other process
        holder.kill()
        holder.wait(10)
        started = time.monotonic()
        WriteTurn(tmp_path / "x.db", timeout=5).take(mine)
        assert time.monotonic() - started < 1
    finally:
        holder.kill()
        holder.wait(10)
