from datetime import UTC

from huey import crontab

from app.core.config import get_settings
from app.core.db import get_sessionmaker
from app.core.queue import huey
from app.delivery import inbound as inbound_service
from app.delivery import service
from app.delivery.models import Delivery


@huey.task()
def send_delivery(delivery_id: int) -> str:
    with get_sessionmaker()() as session:
        outcome = service.send(session, delivery_id)
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


@huey.periodic_task(crontab(minute="*"))
def sweep_outbox() -> int:
    """Every minute: requeue what is due but not on the queue; flag interrupted sends."""
    with get_sessionmaker()() as session:
        service.reconcile_interrupted(session)
        ids = service.requeue_overdue(session)
        inbound_ids = inbound_service.unprocessed(session)
    for delivery_id in ids:
        send_delivery(delivery_id)
    for inbound_id in inbound_ids:  # texts from families stored but never read
        process_inbound_sms(inbound_id)
    return len(ids)


@huey.task(retries=5, retry_delay=10)
def process_inbound_sms(inbound_id: int) -> None:
    from app.delivery import inbound

    with get_sessionmaker()() as session:
        inbound.process_sms(session, inbound_id)


@huey.task()
def send_batch(delivery_ids: list[int]) -> dict[str, int]:
    """A broadcast's deliveries, a few hundred per job rather than one job each."""
    outcomes: dict[str, int] = {}
    for delivery_id in delivery_ids:
        outcome = send_delivery.call_local(delivery_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
