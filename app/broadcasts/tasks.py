"""A broadcast's jobs: fan it out to its families, and start those whose time has come."""

from huey import crontab
from sqlalchemy.orm import Session

from app.broadcasts import service
from app.core.queue import PERIODIC_PRIORITY, enqueue_job, job

BATCH = 200  # deliveries per sending job


@job("broadcasts.fan_out", queue="translate", retries=2, retry_delay=30)
def fan_out(session: Session, broadcast_id: int) -> int:
    """Render, write the message and its deliveries, then queue them in batches. Returns how
    many deliveries are ready to send."""
    ready = service.fan_out(session, broadcast_id)
    for start in range(0, len(ready), BATCH):
        enqueue_job(session, "delivery.send_batch", ready[start : start + BATCH])
    return len(ready)


@job("broadcasts.send_due", periodic=crontab(minute="*"), priority=PERIODIC_PRIORITY)
def send_due(session: Session) -> int:
    """Scheduled broadcasts whose time has come, even across restarts; each is claimed once."""
    ids = service.due(session)
    for broadcast_id in ids:
        enqueue_job(session, "broadcasts.fan_out", broadcast_id)
    return len(ids)


@job("broadcasts.recover", recovers=True, priority=PERIODIC_PRIORITY)
def recover(session: Session, owner: str) -> int:
    """A process died, perhaps mid-fan-out (which rolled back, leaving its broadcast
    `scheduled`): start the due broadcasts now rather than at the next minute's check."""
    return send_due(session)
