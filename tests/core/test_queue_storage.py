"""The queue's workers (app/core/queue.py): a task runs without Huey's read and clearing of a
revocation flag (a SQLite queue file's lock, two Redis round trips); an idle worker still looks
for work every second."""

import sqlite3
import threading
import time

import pytest
import redis
from huey import SqliteHuey

from app.core.queue import QueueRedisHuey, QueueSqliteHuey, WorkerConsumer


def test_a_task_runs_while_another_worker_holds_the_queue_file(tmp_path):
    path = tmp_path / "queue.db"
    queue = QueueSqliteHuey("q", filename=str(path), timeout=0.3, results=False)
    stock = SqliteHuey("q", filename=str(path), timeout=0.3, results=False)
    ran: list[int] = []

    @queue.task()
    def mark(n: int) -> None:
        ran.append(n)

    task = mark.s(1)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another worker in the middle of a dequeue
    try:
        queue.execute(task)  # no revocation flag read or cleared: the file is not touched
        assert ran == [1]
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            stock.execute(task)  # Huey's own reads the flag first, and waits for the lock
    finally:
        other.execute("ROLLBACK")
        other.close()
    with pytest.raises(NotImplementedError):
        mark.revoke()  # what would make skipping the flag wrong is refused


def test_a_task_on_the_redis_queue_costs_no_revocation_round_trips(redis_url):
    queue = QueueRedisHuey("q-rev", url=redis_url, results=False)
    ran = threading.Event()

    @queue.task()
    def mark() -> None:
        ran.set()

    client = redis.Redis.from_url(redis_url)
    client.config_resetstat()
    mark()
    task = queue.dequeue()
    queue.execute(task)
    assert ran.is_set()
    called = {name.removeprefix("cmdstat_") for name in client.info("commandstats")}
    assert "bzpopmin" in called or "zpopmin" in called  # (the dequeue: the count works)
    assert not called & {"hmget", "hget", "hdel"}  # no flag read before, none cleared after


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
