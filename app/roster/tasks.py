"""Queue tasks of the roster domain."""

from huey.api import Task

from app.core.db import get_sessionmaker
from app.core.queue import translation_huey
from app.roster import service

RETRIES = 12
RETRY_DELAY = 300  # seconds: another import may hold the roster for a minute or two


@translation_huey.task(retries=RETRIES, retry_delay=RETRY_DELAY, context=True)
def run_roster_import(import_id: int, task: Task | None = None) -> None:
    """Runs an uploaded import. Only ImportBusy escapes (so Huey retries it later); every
    other outcome, failures included, is recorded on the import itself."""
    with get_sessionmaker()() as session:
        try:
            service.run_queued(session, import_id)
        except service.ImportBusy as exc:
            session.rollback()
            if task is not None and task.retries == 0:
                service.fail_queued(session, import_id, f"{exc.message} (gave up waiting)")
                return
            raise
