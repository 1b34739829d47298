"""Database engine, declarative Base, and the request session dependency."""

import fcntl
import itertools
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Annotated, Any

from fastapi import Depends
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError, InvalidatePoolError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from app.core.config import get_settings, private_file

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime}


READ_ONLY = "hearth_read_only"

_TURN = "hearth_write_turn"
# Set while a queue job runs (app/core/queue.py): its writes wait for requests' writes.
_background: ContextVar[bool] = ContextVar("hearth_background_writes", default=False)


@contextmanager
def background_writes() -> Iterator[None]:
    """Writes made inside let a request's writes go first (SQLite: see WriteTurn)."""
    token = _background.set(True)
    try:
        yield
    finally:
        _background.reset(token)


class WriteTurn:
    """SQLite has one writer at a time, and a connection that finds the database locked polls
    for it with ever longer sleeps (up to 100 ms each): a webhook's short insert behind a
    stream of job transactions waited a second. So writers take turns before they begin: the
    threads of a process wait for one another here (handed over at once, a request's write
    before any job's), and the process whose turn it is then takes two lock files beside the
    database, shared by every process: `<db>-write`, held for the whole write transaction,
    and `<db>-waiting`, which a request holds (shared) while it waits for the first. A queue
    job's write does not start while a request waits (for up to `patience` seconds, so that
    jobs still run under a stream of requests, Twilio's status callbacks during a broadcast):
    a request waits for the transaction under way, not for a queue of jobs. The file locks
    are the kernel's: a process that dies lets go at once. Waiting longer than SQLite's busy
    timeout fails like SQLite: "database is locked"."""

    POLL = (0.0002, 0.0005, 0.001, 0.002)

    def __init__(self, database: Path, timeout: float, patience: float = 0.1) -> None:
        self._paths = (Path(f"{database}-write"), Path(f"{database}-waiting"))
        self._timeout = timeout
        self._patience = patience
        self._ready = threading.Condition()
        self._holder: object | None = None  # the handles of this process's writer
        self._requests_waiting = 0

    def handles(self) -> tuple[IO[bytes], IO[bytes]]:
        """The lock files, opened for one connection."""
        write, waiting = (open(path, "a+b") for path in self._paths)  # noqa: SIM115
        return write, waiting

    def take(self, handles: tuple[IO[bytes], IO[bytes]]) -> None:
        started = time.monotonic()
        job = _background.get()
        self._take_here(handles, job, started)
        try:
            self._take_files(handles, job, started)
        except BaseException:
            self.give_back(handles)
            raise

    def give_back(self, handles: tuple[IO[bytes], IO[bytes]]) -> None:
        with self._ready:
            if self._holder is not handles:
                return
            for handle in handles:
                fcntl.flock(handle, fcntl.LOCK_UN)
            self._holder = None
            # One waiter is enough, unless a request waits: it must not miss its turn to a job
            # that was woken instead and stands back for it.
            if self._requests_waiting:
                self._ready.notify_all()
            else:
                self._ready.notify()

    def _take_here(self, handles: tuple[IO[bytes], IO[bytes]], job: bool, started: float) -> None:
        """This process's turn: blocking, no polling."""
        with self._ready:
            if not job:
                self._requests_waiting += 1
            try:
                while True:
                    waited = time.monotonic() - started
                    deferring = job and self._requests_waiting and waited < self._patience
                    if self._holder is None and not deferring:
                        break
                    if waited > self._timeout:
                        raise sqlite3.OperationalError("database is locked")
                    left = (self._patience if deferring else self._timeout) - waited
                    self._ready.wait(max(left, 0.001))
            finally:
                if not job:
                    self._requests_waiting -= 1
            self._holder = handles

    def _take_files(self, handles: tuple[IO[bytes], IO[bytes]], job: bool, started: float) -> None:
        """The database's turn among processes: polled, in short sleeps."""
        write, waiting = handles
        counted = False  # a request: its shared lock on `waiting` is held
        for attempt in itertools.count():
            waited = time.monotonic() - started
            if job and waited < self._patience:
                # Only while no request of another process waits (its shared lock refuses).
                taken = _try(waiting, fcntl.LOCK_EX) and _try(write, fcntl.LOCK_EX)
                fcntl.flock(waiting, fcntl.LOCK_UN)
            else:
                counted = counted or _try(waiting, fcntl.LOCK_SH)
                taken = counted and _try(write, fcntl.LOCK_EX)
            if taken:
                fcntl.flock(waiting, fcntl.LOCK_UN)
                return
            if waited > self._timeout:
                raise sqlite3.OperationalError("database is locked")
            time.sleep(self.POLL[min(attempt, len(self.POLL) - 1)])


def _take_turns(engine: Engine, turn: WriteTurn) -> None:
    """Every connection of `engine` gets its own handles on `turn`'s lock files, and gives its
    turn back when its transaction ends (or it goes back to the pool mid-transaction)."""

    @event.listens_for(engine, "connect")
    def _open(_dbapi_connection: Any, record: Any) -> None:
        record.info[_TURN] = turn.handles()

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _end(conn: Any) -> None:
        if (handles := conn.connection.info.get(_TURN)) is not None:
            turn.give_back(handles)

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        if (handles := record.info.get(_TURN)) is not None:
            turn.give_back(handles)

    @event.listens_for(engine, "close")
    def _close(_dbapi_connection: Any, record: Any) -> None:
        if (handles := record.info.pop(_TURN, None)) is not None:
            turn.give_back(handles)
            for handle in handles:
                handle.close()


def _try(handle: IO[bytes], kind: int) -> bool:
    try:
        fcntl.flock(handle, kind | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _begin_immediate(conn: Any, turn: WriteTurn | None) -> None:
    """BEGIN IMMEDIATE, after taking `turn` when the connection has handles on it. Straight to
    the driver: through SQLAlchemy's execution (a statement context, a result, its events) it
    cost more than many a statement of the transaction it opens. A failure (a turn or a lock
    waited for too long) is raised as SQLAlchemy raises its own statements' errors."""
    handles = conn.connection.info.get(_TURN)
    try:
        if turn is None or handles is None:
            conn.connection.driver_connection.execute("BEGIN IMMEDIATE")
            return
        turn.take(handles)
        try:
            conn.connection.driver_connection.execute("BEGIN IMMEDIATE")
        except BaseException:
            turn.give_back(handles)
            raise
    except sqlite3.Error as exc:
        raise DBAPIError.instance("BEGIN IMMEDIATE", None, exc, sqlite3.Error) from exc


BUSY_SECONDS = 30  # SQLite: how long a statement waits for a lock before it fails


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide when transactions begin, so that SAVEPOINTs (used by
    # the tests and nested writes) work.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_SECONDS * 1000}")
    cursor.close()


def _sqlite_engine(url: str, **pool: int) -> Engine:
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": BUSY_SECONDS}, **pool
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _is_file(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = _sqlite_engine(url)
        turn = None
        if _is_file(url):
            turn = WriteTurn(Path(str(make_url(url).database)), BUSY_SECONDS)
            _take_turns(engine, turn)

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # IMMEDIATE: take the write lock up front. A deferred transaction that reads and then
            # writes fails at once with "database is locked" when another writer got in between
            # (busy_timeout cannot help it); this way it waits its turn instead. A session that
            # only reads (read_session) begins no transaction at all: each of its statements
            # reads a snapshot of its own, and in WAL mode waits for no writer (and the BEGIN
            # and COMMIT it would cost are two statements more per read).
            if not conn.get_execution_options().get(READ_ONLY):
                _begin_immediate(conn, turn)

        return engine
    engine = create_engine(url, pool_size=10, max_overflow=20)
    _ping_when_idle(engine)
    return engine


# A pooled PostgreSQL connection is tested (one round trip) before use only when it lay idle
# this long. A server that restarted, or a network that dropped the connection, has been gone
# longer than that by the time anyone uses it again, so this still catches them; a busy
# worker's connections, back in the pool for milliseconds, skip the test (pinging every
# checkout was two round trips of the nine a text sent cost, bench/README.md). A connection that
# dies unseen within the second fails its statement, and SQLAlchemy then replaces every
# connection the pool held.
PING_IDLE_SECONDS = 1.0
_IDLE_SINCE = "hearth_idle_since"


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _idle_from_now(dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.pop(_IDLE_SINCE, None)
        if since is None or time.monotonic() - since < PING_IDLE_SECONDS:
            return  # a new connection, or one used a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # As SQLAlchemy's pre-ping: this connection and every older one are replaced, and
            # the checkout is tried again with a new connection.
            raise InvalidatePoolError(str(error)) from error


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    if _is_file(settings.sqlalchemy_url):
        private_file(Path(str(make_url(settings.sqlalchemy_url).database)))
    return make_engine(settings.sqlalchemy_url)


# A SQLite file's reads (read_session) have a pool of their own, as large as a server
# process's thread pool (anyio's 40): a read there takes no write lock, so there is no reason
# to make it wait for a connection; in the shared pool of 5 kept connections, a sixth
# concurrent read opened and closed a connection of its own, with its pragmas and lock files
# (request threads' CPU 1.5 → 1.1 ms per never-repeated translate request at 16 at once,
# bench/README.md). The shared pool stays small: it is also what limits how many writers
# contend for the write lock at once.
READ_POOL_SIZE = 40


@lru_cache
def _read_engine() -> Engine | None:
    """The reads' own engine on a SQLite file; None elsewhere (they share get_engine's)."""
    url = get_settings().sqlalchemy_url
    if not _is_file(url):
        return None
    get_engine()  # the file made private first, as every way in does
    return _sqlite_engine(url, pool_size=READ_POOL_SIZE, max_overflow=READ_POOL_SIZE)


def _forget_parent_connections() -> None:
    # A forked worker process (`hearth worker --worker-type process`) inherits the parent's
    # pooled connections; two processes talking over one socket corrupt each other's
    # conversation. The child drops them unclosed (closing would close the parent's) and
    # opens its own.
    if get_engine.cache_info().currsize:
        get_engine().dispose(close=False)
    if _read_engine.cache_info().currsize and (reads := _read_engine()) is not None:
        reads.dispose(close=False)


os.register_at_fork(after_in_child=_forget_parent_connections)


_override: sessionmaker[Session] | None = None


@lru_cache
def _default_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


def get_sessionmaker() -> sessionmaker[Session]:
    """Where every session comes from: requests, jobs, the CLI."""
    return _override or _default_sessionmaker()


def use_sessionmaker(factory: sessionmaker[Session] | None) -> None:
    """Route every new session through `factory` (tests bind it to one connection)."""
    global _override
    _override = factory


@lru_cache
def _read_sessionmaker() -> sessionmaker[Session]:
    engine = _read_engine() or get_engine()
    return sessionmaker(bind=engine.execution_options(**{READ_ONLY: True}))


def _clear_sessionmakers() -> None:
    _default_sessionmaker.cache_clear()
    _read_sessionmaker.cache_clear()
    if _read_engine.cache_info().currsize and (reads := _read_engine()) is not None:
        reads.dispose()
    _read_engine.cache_clear()


get_sessionmaker.cache_clear = _clear_sessionmakers  # type: ignore[attr-defined]


@contextmanager
def read_session() -> Iterator[Session]:
    """A session for work that only reads (the translate API's lookups): on SQLite it begins
    no transaction, so it neither takes nor waits for the write lock, and each statement reads
    on its own. Nothing it does should write: write through a normal session or
    app.core.deferred."""
    factory = _override or _read_sessionmaker()
    with factory() as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        # Ends the read. (Committed, not rolled back: in tests this session is a SAVEPOINT on
        # the test's connection, and a deferred write made meanwhile is nested in it.)
        session.commit()


def get_session() -> Iterator[Session]:
    with get_sessionmaker()() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


@contextmanager
def all_or_nothing(session: Session) -> Iterator[None]:
    """A write that may be refused half-way while the request goes on (a form shown again with
    its errors): undone by a SAVEPOINT, the jobs queued in it dropped with it. Tolerant of a
    service that still commits (or rolls back) by itself inside it: then there is nothing left
    to release or undo."""
    savepoint = session.begin_nested()
    try:
        yield
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    if savepoint.is_active:
        savepoint.commit()


def each_statement_commits(session: Session) -> None:
    """PostgreSQL: the session's next transaction commits each statement as it runs. For a
    transaction that is one statement (a send's result): it then costs one round trip instead
    of three, since psycopg sends BEGIN on a round trip of its own, and COMMIT another. Call
    it before the transaction's first statement; in a transaction already, on SQLite (no
    round trips to save) or bound to a connection (the tests'), it does nothing."""
    bind = session.get_bind()
    if session.in_transaction() or not isinstance(bind, Engine):
        return
    if bind.dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
