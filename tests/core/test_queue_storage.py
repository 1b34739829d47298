"""The queue's workers (app/core/queue.py): clearing a task's revocation flag, which Huey does
after every task, takes the SQLite queue file's lock only when there is one; an idle worker
still looks for work every second."""

import sqlite3
import threading
import time

import pytest
from huey import SqliteHuey
from huey.constants import EmptyData
from huey.storage import SqliteStorage

from app.core.queue import QuickSqliteStorage, WorkerConsumer


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


def test_an_idle_worker_still_picks_up_work_within_a_second(tmp_path):
    """Huey's workers poll, backing off while the queue is empty: by default to 10 s, so the
    first reply after a quiet night waited that long. Hearth's workers look every second at
    most. (Backoff ×3 here, to reach the cap in a few seconds instead of ~25.)"""
    queue = SqliteHuey("idle", filename=str(tmp_path / "q.db"), results=False)
    ran = threading.Event()

    @queue.task()
    def mark() -> None:
        ran.set()

    consumer = WorkerConsumer(queue, workers=1, periodic=False, backoff=3)
    consumer.start()
    try:
        time.sleep(5)  # idle: with Huey's own cap it would sleep from 4.0 s to 12.1 s
        mark()
        assert ran.wait(2.5)
    finally:
        consumer.stop(graceful=True)
