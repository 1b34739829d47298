"""The SQLite queue's storage (app/core/queue.QuickSqliteStorage): clearing a task's revocation
flag, which Huey does after every task, takes the queue file's lock only when there is one."""

import sqlite3

import pytest
from huey.constants import EmptyData
from huey.storage import SqliteStorage

from app.core.queue import QuickSqliteStorage


@pytest.fixture
def writer_holding_the_queue(tmp_path):
    path = tmp_path / "queue.db"
    QuickSqliteStorage("q", filename=str(path))  # creates the tables
    conn = sqlite3.connect(path, isolation_level=None)
    yield path, conn
    conn.close()


def test_no_flag_to_clear_needs_no_lock(writer_holding_the_queue):
    path, other = writer_holding_the_queue
    other.execute("BEGIN EXCLUSIVE")  # another worker in the middle of a dequeue
    try:
        quick = QuickSqliteStorage("q", filename=str(path), timeout=0.3, create_tables=False)
        assert quick.pop_data("q.revoked.123") is EmptyData  # answered while it holds the lock
        stock = SqliteStorage("q", filename=str(path), timeout=0.3, create_tables=False)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            stock.pop_data("q.revoked.123")  # Huey's own waits for the lock
    finally:
        other.execute("ROLLBACK")


def test_a_flag_that_is_there_is_cleared(writer_holding_the_queue):
    path, _ = writer_holding_the_queue
    storage = QuickSqliteStorage("q", filename=str(path), create_tables=False)
    storage.put_data("q.revoked.7", b"flag")
    assert bytes(storage.pop_data("q.revoked.7")) == b"flag"
    assert storage.pop_data("q.revoked.7") is EmptyData
    assert storage.delete_data("q.revoked.7") is False
