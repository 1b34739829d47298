"""The day-before reminder of each booked conference time."""

from huey import crontab
from sqlalchemy.orm import Session

from app.conferences import service
from app.core.queue import PERIODIC_PRIORITY, enqueue_job, job

BATCH = 200


@job("conferences.remind_due", periodic=crontab(minute="*/5"), priority=PERIODIC_PRIORITY)
def remind_due(session: Session) -> int:
    """Reminders for the booked times starting within a day, each once per family."""
    ready = service.remind_due(session)
    for start in range(0, len(ready), BATCH):
        enqueue_job(session, "delivery.send_batch", ready[start : start + BATCH])
    return len(ready)
