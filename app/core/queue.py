"""The job queue port: Huey, SQLite-backed in the data dir by default, Redis at scale.

Jobs are enqueued only after the transaction that made them commits (`enqueue_after_commit`),
and dropped if it rolls back, so a job never sees data that does not exist."""

import logging
from collections.abc import Callable
from typing import Any

from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from huey.consumer import Consumer
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.core.config import get_settings

log = logging.getLogger("hearth.queue")


def _make_huey() -> Huey:
    settings = get_settings()
    url = settings.queue_url
    # No result store: nothing reads job results, and storing one per delivery costs.
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey("hearth", url=url, utc=True, results=False)
    if url == "memory://":
        return MemoryHuey("hearth", utc=True, results=False)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = url.removeprefix("sqlite:///") if url else str(settings.data_dir / "queue.db")
    # fsync off: a job lost in a power cut is found again by the outbox sweeper, since the
    # outbox itself lives in the main database; the queue stays fast.
    return SqliteHuey("hearth", filename=path, utc=True, timeout=30, results=False, fsync=False)


huey: Huey = _make_huey()

_PENDING = "hearth_jobs"


def enqueue_after_commit(session: Session, task: Callable[..., Any], *args: Any) -> None:
    """Queue `task(*args)` once `session` commits; forget it if the session rolls back."""
    session.info.setdefault(_PENDING, []).append((task, args))


@event.listens_for(Session, "after_commit")
def _enqueue_pending(session: Session) -> None:
    for task, args in session.info.pop(_PENDING, []):
        try:
            task(*args)
        except Exception:  # the outbox sweeper re-enqueues whatever this loses
            log.exception("could not enqueue %s", getattr(task, "name", task))


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: Any) -> None:
    # Only the outermost rollback drops jobs; a rolled-back SAVEPOINT keeps the others.
    if previous_transaction.parent is None and not previous_transaction.nested:
        session.info.pop(_PENDING, None)


class EmbeddedConsumer(Consumer):
    """Consumer threads inside `hearth serve`: the server keeps its own signal handlers."""

    def _set_signal_handlers(self) -> None:
        pass


def start_embedded_consumer(workers: int) -> EmbeddedConsumer:
    consumer = EmbeddedConsumer(
        huey, workers=workers, worker_type="thread", check_worker_health=True, periodic=True
    )
    consumer.start()
    return consumer
