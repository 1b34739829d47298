"""The outbox's jobs: send one delivery, send a batch, and the sweep that finds what was lost."""

import logging
from datetime import timedelta

from huey import crontab
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.db import utcnow
from app.core.queue import PERIODIC_PRIORITY, enqueue_job, job, run_job, schedule_job
from app.delivery import attachments, service
from app.delivery.models import Delivery

log = logging.getLogger("hearth.delivery")


# The database unreachable (restarting, failing over): the whole job is tried again later. A
# retried job sends nothing twice: each delivery is claimed before it is sent.
DATABASE_DOWN = (OperationalError, InterfaceError)
JOB_RETRIES, JOB_RETRY_DELAY = 6, 10


@job("delivery.send", retries=JOB_RETRIES, retry_delay=JOB_RETRY_DELAY)
def send_delivery(session: Session, delivery_id: int) -> str:
    outcome = service.send(session, delivery_id)
    # One line per send, with ids only: which worker sent what, for operators and tests.
    log.info(
        "delivery %s: %s",
        delivery_id,
        outcome,
        extra={"delivery_id": delivery_id, "outcome": outcome},
    )
    if outcome in ("retry", "deferred"):
        row = session.get(Delivery, delivery_id)
        if row is not None and row.next_attempt_at:
            schedule_job(session, "delivery.send", delivery_id, eta=row.next_attempt_at)
    elif outcome == "sent" and get_settings().sms_backend == "dev":
        # The dev phone has no carrier: it reports delivery (or an answered call) at once,
        # as Twilio would later. (Only then is the row read again.)
        row = session.get(Delivery, delivery_id)
        if row is not None and row.channel in service.PHONE_CHANNELS and row.provider_id:
            service.apply_status(session, row.provider_id, "delivered", None)
    return outcome


@job(
    "delivery.send_batch",
    retries=JOB_RETRIES,
    retry_delay=JOB_RETRY_DELAY,
    # Each send is a job of its own, with its own transactions: the batch holds none meanwhile
    # (SQLite has one writer).
    session=False,
)
def send_batch(delivery_ids: list[int]) -> dict[str, int]:
    """A broadcast's deliveries, a few hundred per job rather than one job each."""
    outcomes: dict[str, int] = {}
    for delivery_id in delivery_ids:
        try:
            outcome = run_job("delivery.send", delivery_id)
        except DATABASE_DOWN:
            raise  # the rest of the batch would fail the same way: retry the job later
        except Exception:
            # One row that cannot be sent (a bug) must not hold back the rest of the batch;
            # the sweeper finds it again.
            log.exception("delivery %s: error", delivery_id, extra={"delivery_id": delivery_id})
            outcome = "error"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


@job("delivery.sweep", periodic=crontab(minute="*"), priority=PERIODIC_PRIORITY)
def sweep(session: Session) -> int:
    """Every minute (HEARTH_OUTBOX_SWEEP_SECONDS): settle interrupted sends; requeue what is
    due but not on the queue. Returns how many deliveries it requeued."""
    service.reconcile_interrupted(session)
    ids = service.requeue_overdue(session)
    for delivery_id in ids:
        enqueue_job(session, "delivery.send", delivery_id)
    return len(ids)


@job("delivery.recover", recovers=True, priority=PERIODIC_PRIORITY)
def recover(session: Session, owner: str) -> int:
    """The process `owner` died holding work: settle the sends it cut short now, and queue again
    every delivery that is due (the jobs it had taken off the queue died with it; a delivery
    whose job is still queued is claimed once either way). Returns how many it requeued."""
    service.reconcile_interrupted(session, dead=[owner])
    if service.still_sending(session, owner):  # claimed a moment before it died: once over
        schedule_job(session, "delivery.recover", owner, eta=utcnow() + service.call_timeout())
    ids = service.requeue_overdue(session, grace=timedelta(0))
    for delivery_id in ids:
        enqueue_job(session, "delivery.send", delivery_id)
    return len(ids)


@job("delivery.sweep_attachments", periodic=crontab(hour="3", minute="41"))
def sweep_unused_attachments(session: Session) -> int:
    """Every night: photos and PDFs uploaded but never sent (the note was not posted) go."""
    return attachments.sweep_unused(session)
