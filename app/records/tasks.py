import logging

from huey import crontab

from app.core.db import get_sessionmaker
from app.core.queue import huey

log = logging.getLogger("hearth.records")


@huey.periodic_task(crontab(hour="3", minute="17"))
def purge_expired_records() -> dict[str, int]:
    """Every night (03:17 UTC, when schools sleep): erase the texts older than
    HEARTH_RETENTION_DAYS. Does nothing while it is 0."""
    from app.records import service

    with get_sessionmaker()() as session:
        report = service.purge(session)
    counts = {k: report[k] for k in (*service.ERASABLE, "messages_held")}
    if report["days"]:
        log.info("retention purge (%s days): %s", report["days"], counts)
    return counts
