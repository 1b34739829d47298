import logging

from huey import crontab
from sqlalchemy.orm import Session

from app.core.queue import job
from app.records import service

log = logging.getLogger("hearth.records")


@job("records.purge", periodic=crontab(hour="3", minute="17"))
def purge_expired_records(session: Session) -> dict[str, int]:
    """Every night (03:17 UTC, when schools sleep): erase the texts older than
    HEARTH_RETENTION_DAYS. Does nothing while it is 0."""
    report = service.purge(session)
    counts = {k: report[k] for k in (*service.ERASABLE, "messages_held")}
    if report["days"]:
        log.info("retention purge (%s days): %s", report["days"], counts)
    return counts
