"""The job queue port: Huey, SQLite-backed in the data dir by default, Redis at scale.

Two queues, because their jobs want different workers: `send` (deliveries, the outbox sweep,
due broadcasts: waiting on Twilio and SMTP, so threads) and `translate` (translating notes,
broadcast fan-out, families' replies, roster imports: CPU-bound, so processes at scale, each
with its own CTranslate2 threads). `hearth serve` and a plain `hearth worker` consume both.

Jobs are enqueued only after the transaction that made them commits (`enqueue_after_commit`),
and dropped if it rolls back, so a job never sees data that does not exist."""

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from huey import Huey, MemoryHuey, PriorityRedisHuey, SqliteHuey
from huey.consumer import Consumer, Scheduler
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.core.config import get_settings, private_file

log = logging.getLogger("hearth.queue")


def _make_huey(name: str) -> Huey:
    settings = get_settings()
    url = settings.queue_url
    # No result store: nothing reads job results, and storing one per delivery costs.
    # Priorities (SQLite and memory queues have them built in): the periodic jobs must not
    # wait behind a long broadcast's sending jobs.
    if url.startswith(("redis://", "rediss://", "unix://")):
        return PriorityRedisHuey(name, url=url, utc=True, results=False)
    if url == "memory://":
        return MemoryHuey(name, utc=True, results=False)
    path = url.removeprefix("sqlite:///") if url else str(settings.data_dir / "queue.db")
    private_file(Path(path))
    # fsync off: a job lost in a power cut is found again by the outbox sweeper, since the
    # outbox itself lives in the main database; the queue stays fast.
    return SqliteHuey(name, filename=path, utc=True, timeout=30, results=False, fsync=False)


huey: Huey = _make_huey("hearth-send")  # the `send` queue (and the periodic jobs)
translation_huey: Huey = _make_huey("hearth-translate")  # the `translate` queue
QUEUES: dict[str, Huey] = {"send": huey, "translate": translation_huey}
# Periodic jobs go ahead of whatever is waiting: a sweep stuck behind hours of rate-limited
# sending would leave interrupted sends unsettled and scheduled broadcasts unsent that long.
PERIODIC_PRIORITY = 100

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


class WorkerConsumer(Consumer):
    """A Huey consumer whose periodic jobs (the outbox sweep, due broadcasts) run every
    HEARTH_OUTBOX_SWEEP_SECONDS; they are all `crontab(minute="*")`, so running them more
    often only makes them sooner."""

    def _create_scheduler(self) -> Scheduler:
        scheduler = super()._create_scheduler()
        scheduler.periodic_task_seconds = get_settings().outbox_sweep_seconds
        return scheduler


def make_consumer(queue: Huey, workers: int, worker_type: str = "thread") -> WorkerConsumer:
    return WorkerConsumer(
        queue,
        workers=workers,
        worker_type=worker_type,
        periodic=queue is huey,  # the periodic jobs live on the send queue
        check_worker_health=True,
    )


class EmbeddedConsumer(WorkerConsumer):
    """Consumer threads inside another program: it keeps its own signal handlers."""

    def _set_signal_handlers(self) -> None:
        pass


class EmbeddedConsumers:
    """Both queues' consumers as threads of the `hearth serve` process."""

    def __init__(self, send_workers: int, translate_workers: int) -> None:
        self.consumers = [
            EmbeddedConsumer(huey, workers=send_workers, worker_type="thread", periodic=True),
            EmbeddedConsumer(
                translation_huey, workers=translate_workers, worker_type="thread", periodic=False
            ),
        ]

    def start(self) -> "EmbeddedConsumers":
        for consumer in self.consumers:
            consumer.start()
        return self

    def stop(self, graceful: bool = False) -> None:
        for consumer in self.consumers:
            consumer.stop(graceful=graceful)


def start_embedded_consumer(workers: int) -> EmbeddedConsumers:
    """`workers` job threads for each queue, inside the calling process."""
    return EmbeddedConsumers(workers, workers).start()
