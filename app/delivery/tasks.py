import logging
from datetime import UTC

from huey import crontab
from sqlalchemy.exc import InterfaceError, OperationalError

from app.core.config import get_settings
from app.core.db import get_sessionmaker
from app.core.queue import PERIODIC_PRIORITY, huey, translation_huey
from app.delivery import inbound as inbound_service
from app.delivery import service
from app.delivery.models import Delivery

log = logging.getLogger("hearth.delivery")


# The database unreachable (restarting, failing over): the whole job is tried again later. A
# retried job sends nothing twice: each delivery is claimed before it is sent.
DATABASE_DOWN = (OperationalError, InterfaceError)
JOB_RETRIES, JOB_RETRY_DELAY = 6, 10


@huey.task(retries=JOB_RETRIES, retry_delay=JOB_RETRY_DELAY)
def send_delivery(delivery_id: int) -> str:
    with get_sessionmaker()() as session:
        outcome = service.send(session, delivery_id)
        # One line per send, with ids only: which worker sent what, for operators and tests.
        log.info(
            "delivery %s: %s",
            delivery_id,
            outcome,
            extra={"delivery_id": delivery_id, "outcome": outcome},
        )
        row = session.get(Delivery, delivery_id)
        if outcome in ("retry", "deferred") and row is not None and row.next_attempt_at:
            eta = row.next_attempt_at.astimezone(UTC).replace(tzinfo=None)
            send_delivery.schedule(args=(delivery_id,), eta=eta)
        if (
            outcome == "sent"
            and row is not None
            and row.channel == "sms"
            and get_settings().sms_backend == "dev"
            and row.provider_id
        ):
            # The dev phone has no carrier: it reports delivery at once, as Twilio would later.
            service.apply_status(session, row.provider_id, "delivered", None)
    return outcome


@huey.periodic_task(crontab(minute="*"), priority=PERIODIC_PRIORITY)
def sweep_outbox() -> int:
    """Every minute (HEARTH_OUTBOX_SWEEP_SECONDS): requeue what is due but not on the queue;
    settle interrupted sends."""
    from app.messaging import tasks as messaging_tasks

    with get_sessionmaker()() as session:
        service.reconcile_interrupted(session)
        ids = service.requeue_overdue(session)
        untranslated = service.awaiting_translation(session)
        inbound_ids = inbound_service.unprocessed(session)
    for delivery_id in ids:
        send_delivery(delivery_id)
    for message_id in untranslated:  # their translation job was lost: translate, then send
        messaging_tasks.prepare_message(message_id)
    for inbound_id in inbound_ids:  # texts from families stored but never read
        process_inbound_sms(inbound_id)
    return len(ids)


@translation_huey.task(retries=5, retry_delay=10)
def process_inbound_sms(inbound_id: int) -> None:
    from app.delivery import inbound

    with get_sessionmaker()() as session:
        inbound.process_sms(session, inbound_id)


@huey.task(retries=JOB_RETRIES, retry_delay=JOB_RETRY_DELAY)
def send_batch(delivery_ids: list[int]) -> dict[str, int]:
    """A broadcast's deliveries, a few hundred per job rather than one job each."""
    outcomes: dict[str, int] = {}
    for delivery_id in delivery_ids:
        try:
            outcome = send_delivery.call_local(delivery_id)
        except DATABASE_DOWN:
            raise  # the rest of the batch would fail the same way: retry the job later
        except Exception:
            # One row that cannot be sent (a bug) must not hold back the rest of the batch;
            # the sweeper finds it again.
            log.exception("delivery %s: error", delivery_id, extra={"delivery_id": delivery_id})
            outcome = "error"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
