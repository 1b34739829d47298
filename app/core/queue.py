"""The job queue port: Huey, SQLite-backed in the data dir by default, Redis at scale.

Two queues, because their jobs want different workers: `send` (deliveries, the outbox sweep,
due broadcasts: waiting on Twilio and SMTP, so threads) and `translate` (translating notes,
broadcast fan-out, families' replies, roster imports: CPU-bound, so processes at scale, each
with its own CTranslate2 threads). `hearth serve` and a plain `hearth worker` consume both.

Jobs are enqueued only after the transaction that made them commits (`enqueue_after_commit`),
and dropped if it rolls back, so a job never sees data that does not exist."""

import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal, TypeVar

from huey import Huey, MemoryHuey, PriorityRedisHuey, SqliteHuey
from huey.api import TaskWrapper
from huey.consumer import Consumer, Scheduler
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.core import leases
from app.core.config import get_settings, private_file
from app.core.db import background_writes, get_sessionmaker
from app.core.metrics import job_timer

log = logging.getLogger("hearth.queue")
R = TypeVar("R")


class _Unrevoked:
    """Huey reads a task's revocation flag before running it and clears the flag after: on the
    Redis queue two round trips for every text sent, on the SQLite queue a read and a clearing
    that took the queue file's lock. Hearth revokes no task (and cannot: `revoke` raises), so
    its queues do neither."""

    def is_revoked(self, task: Any, timestamp: Any = None, peek: bool = True) -> bool:
        return False

    def delete(self, key: str) -> Any:
        if key.startswith("r:"):  # a task's revocation flag (Task.revoke_id): never set
            return False
        return super().delete(key)  # type: ignore[misc]

    def revoke(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("Hearth's job queues do not revoke tasks")

    revoke_all = revoke_by_id = revoke


class QueueSqliteHuey(_Unrevoked, SqliteHuey):  # type: ignore[misc]  # huey has no type information
    pass


class QueueRedisHuey(_Unrevoked, PriorityRedisHuey):  # type: ignore[misc]
    pass


class QueueMemoryHuey(_Unrevoked, MemoryHuey):  # type: ignore[misc]
    pass


def _make_huey(name: str) -> Huey:
    settings = get_settings()
    url = settings.queue_url
    # No result store: nothing reads job results, and storing one per delivery costs.
    # Priorities (SQLite and memory queues have them built in): the periodic jobs must not
    # wait behind a long broadcast's sending jobs.
    if url.startswith(("redis://", "rediss://", "unix://")):
        return QueueRedisHuey(name, url=url, utc=True, results=False)
    if url == "memory://":
        return QueueMemoryHuey(name, utc=True, results=False)
    path = url.removeprefix("sqlite:///") if url else str(settings.data_dir / "queue.db")
    private_file(Path(path))
    # fsync off: a job lost in a power cut is found again by the outbox sweeper, since the
    # outbox itself lives in the main database; the queue stays fast.
    return QueueSqliteHuey(name, filename=path, utc=True, timeout=30, results=False, fsync=False)


huey: Huey = _make_huey("hearth-send")  # the `send` queue (and the periodic jobs)
translation_huey: Huey = _make_huey("hearth-translate")  # the `translate` queue
QUEUES: dict[str, Huey] = {"send": huey, "translate": translation_huey}
# Periodic jobs go ahead of whatever is waiting: a sweep stuck behind hours of rate-limited
# sending would leave interrupted sends unsettled and scheduled broadcasts unsent that long.
PERIODIC_PRIORITY = 100

_PENDING = "hearth_jobs"

# Jobs by name: a service enqueues "delivery.send" without importing the module that defines it,
# so no service imports its own tasks.py and no import goes in a circle. The Huey identifier of
# every job is `app.core.queue.<name>` (the wrapper lives here), whatever module defines it.
_JOBS: dict[str, TaskWrapper] = {}
# Jobs run with the name of a process that died holding work (see Heartbeat).
_RECOVERY: list[str] = []
QueueName = Literal["send", "translate"]


def job(
    name: str,
    *,
    queue: QueueName = "send",
    retries: int = 0,
    retry_delay: int = 0,
    periodic: Callable[[Any], bool] | None = None,
    priority: int | None = None,
    context: bool = False,
    session: bool = True,
    recovers: bool = False,
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Register `fn(session, *args)` as the job `name`. The runner opens a session, runs the
    function and commits once (or rolls back if it raises): a job, like a request, is one
    transaction, unless it commits on purpose and says why (a send commits its claim before the
    provider call, and then its result). `session=False`: a job that only runs other jobs (a
    batch of sends) and so must hold no transaction while they open theirs (SQLite has one
    writer). `periodic`: a crontab. `recovers`: run as `fn(session, owner)` when the process
    `owner` died holding work."""

    def register(fn: Callable[..., R]) -> Callable[..., R]:
        if name in _JOBS:
            raise ValueError(f"job {name!r} is registered twice")

        def run(*args: Any, **kwargs: Any) -> R:
            with job_timer(name), background_writes():
                if not session:
                    return fn(*args, **kwargs)
                with get_sessionmaker()() as job_session:
                    try:
                        result = fn(job_session, *args, **kwargs)
                        job_session.commit()
                    except BaseException:
                        job_session.rollback()
                        raise
                    return result

        run.__name__ = run.__qualname__ = name
        run.__doc__ = fn.__doc__
        huey_ = QUEUES[queue]
        options: dict[str, Any] = {"retries": retries, "retry_delay": retry_delay, "name": name}
        if priority is not None:
            options["priority"] = priority
        if periodic is not None:
            _JOBS[name] = huey_.periodic_task(periodic, **options)(run)
        else:
            _JOBS[name] = huey_.task(context=context, **options)(run)
        if recovers:
            _RECOVERY.append(name)
        return fn

    return register


def registered(name: str) -> TaskWrapper:
    try:
        return _JOBS[name]
    except KeyError:
        raise LookupError(
            f"no job named {name!r}: the module defining it is not imported (app.tasks)"
        ) from None


def enqueue_job(session: Session, name: str, *args: Any) -> None:
    """Queue the job `name` once `session` commits; forget it on rollback."""
    task = registered(name)
    _pending(session, task, args)


def schedule_job(session: Session, name: str, *args: Any, eta: datetime) -> None:
    """Queue the job `name` to run at `eta` (UTC), once `session` commits."""
    task = registered(name)
    when = eta.astimezone(UTC).replace(tzinfo=None)
    _pending(session, lambda *a: task.schedule(args=a, eta=when), args)


def run_job(name: str, *args: Any) -> Any:
    """Run the job `name` here and now, in a transaction of its own (the CLI, a worker's start,
    the demo). Never while the caller holds a transaction: SQLite would wait on itself."""
    return registered(name).call_local(*args)


def after_commit(session: Session, fn: Callable[..., object], *args: Any) -> None:
    """Call `fn(*args)` once `session` commits (an email, a text that must follow the data it
    speaks of); forget it on rollback."""
    _pending(session, fn, args)


def enqueue_after_commit(session: Session, task: Callable[..., Any], *args: Any) -> None:
    """Queue `task(*args)` once `session` commits; forget it if the session (or the SAVEPOINT
    it was queued in) rolls back."""
    _pending(session, task, args)


def _pending(session: Session, task: Callable[..., Any], args: tuple[Any, ...]) -> None:
    where = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((where, task, args))


@event.listens_for(Session, "after_commit")
def _enqueue_pending(session: Session) -> None:
    root = session.get_transaction()
    if root is not None and root.is_active:
        # A SAVEPOINT was released (SQLAlchemy reports it as a commit too): what was queued
        # in it waits for the real commit, and goes if the transaction around it rolls back.
        return
    for _, task, args in session.info.pop(_PENDING, []):
        try:
            task(*args)
        except Exception:  # the outbox sweeper re-enqueues whatever this loses
            log.exception("could not enqueue %s", getattr(task, "name", task))


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: Any) -> None:
    # The outermost rollback drops every job; a rolled-back SAVEPOINT drops those queued in it.
    if previous_transaction.parent is None and not previous_transaction.nested:
        session.info.pop(_PENDING, None)
        return

    def inside(transaction: Any) -> bool:
        while transaction is not None:
            if transaction is previous_transaction:
                return True
            transaction = transaction.parent
        return False

    pending = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [job for job in pending if not inside(job[0])]


class Heartbeat:
    """This process's lease (app/core/leases.py), renewed by a thread of its own every third of
    HEARTH_WORKER_LEASE_SECONDS. Each renewal also looks for the leases of processes that died
    and queues the recovery jobs for each (one process takes each dead lease)."""

    def __init__(self) -> None:
        self.owner = leases.new_owner()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hearth-lease", daemon=True)

    def start(self) -> "Heartbeat":
        with get_sessionmaker()() as session:
            leases.take(session, self.owner)
            session.commit()
        self.beat()  # at once: a process that died before this one started
        self._thread.start()
        return self

    def beat(self) -> list[str]:
        with get_sessionmaker()() as session:
            if not leases.renew(session, self.owner):
                log.warning(
                    "this process was silent longer than its lease (HEARTH_WORKER_LEASE_SECONDS):"
                    " others may have recovered its work"
                )
            dead = leases.take_over_expired(session)
            session.commit()
        for owner in dead:
            log.warning("process %s stopped without giving its lease back: recovering", owner)
            for name in _RECOVERY:
                try:
                    registered(name)(owner)
                except Exception:  # the periodic sweep finds the rest by age
                    log.exception("could not queue %s", name)
        return dead

    def _run(self) -> None:
        interval = max(get_settings().worker_lease_seconds / 3, 0.2)
        while not self._stopping.wait(interval):
            try:
                self.beat()
            except Exception:  # a database restart: try again at the next beat
                log.exception("lease renewal failed")

    def stop(self, *, finished: bool) -> None:
        """`finished`: every job this process started has ended. If not, the lease is left to
        expire, and what was cut short is recovered like a dead process's work."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(10)
        if not finished:
            return
        try:
            with get_sessionmaker()() as session:
                leases.give_back(session, self.owner)
                session.commit()
        except Exception:  # it expires on its own; its work is then recovered
            log.exception("could not give the lease back")


class WorkerConsumer(Consumer):  # type: ignore[misc]  # huey has no type information
    """A Huey consumer whose periodic jobs (the outbox sweep, due broadcasts) run every
    HEARTH_OUTBOX_SWEEP_SECONDS; they are all `crontab(minute="*")`, so running them more
    often only makes them sooner. An idle worker looks for work at least every
    POLL_MAX_SECONDS (Huey's default backs off to 10 s: after a quiet night the first reply or
    urgent notice waited that long)."""

    POLL_MAX_SECONDS = 1.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_delay", self.POLL_MAX_SECONDS)
        super().__init__(*args, **kwargs)

    def _create_scheduler(self) -> Scheduler:
        scheduler = super()._create_scheduler()
        scheduler.periodic_task_seconds = get_settings().outbox_sweep_seconds
        return scheduler

    finished = False  # stopped with every started job ended (see Heartbeat.stop)

    def stop(self, graceful: bool = False) -> None:
        super().stop(graceful=graceful)
        workers = [worker for _, worker in self.worker_threads]
        self.finished = graceful and not any(self.environment.is_alive(w) for w in workers)


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
        self.heartbeat = Heartbeat()
        self.consumers = [
            EmbeddedConsumer(huey, workers=send_workers, worker_type="thread", periodic=True),
            EmbeddedConsumer(
                translation_huey, workers=translate_workers, worker_type="thread", periodic=False
            ),
        ]

    def start(self) -> "EmbeddedConsumers":
        self.heartbeat.start()
        for consumer in self.consumers:
            consumer.start()
        return self

    def stop(self, graceful: bool = False) -> None:
        for consumer in self.consumers:
            consumer.stop(graceful=graceful)
        self.heartbeat.stop(finished=all(consumer.finished for consumer in self.consumers))


def start_embedded_consumer(workers: int) -> EmbeddedConsumers:
    """`workers` job threads for each queue, inside the calling process."""
    return EmbeddedConsumers(workers, workers).start()


class EmbeddedConsumerLock:
    """Starts the embedded consumers in the one process of a data dir that holds `path`'s lock
    (`hearth serve --workers N`: the queue is one SQLite file, and its rate limits and
    schedules count on one consumer). The others try again every few seconds, so that one
    takes over when the holder ends."""

    RETRY_SECONDS = 3.0

    def __init__(self, path: Path, start: Callable[[], EmbeddedConsumers]) -> None:
        self._path = path
        self._start = start
        self._file: IO[bytes] | None = None
        self._consumers: EmbeddedConsumers | None = None
        self._stopped = threading.Event()

    def start(self) -> "EmbeddedConsumerLock":
        if not self._try():
            threading.Thread(target=self._wait, name="consumer-lock", daemon=True).start()
        return self

    def _try(self) -> bool:
        import fcntl

        self._path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self._path, "a+b")  # noqa: SIM115 (held open as the lock)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        self._consumers = self._start()
        log.info("embedded job consumers started in server process %d", os.getpid())
        return True

    def _wait(self) -> None:
        while not self._stopped.wait(self.RETRY_SECONDS):
            if self._try():
                return

    def stop(self) -> None:
        self._stopped.set()
        if self._consumers is not None:
            self._consumers.stop(graceful=True)
        if self._file is not None:
            self._file.close()  # releases the lock
