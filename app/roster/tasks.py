"""Jobs of the roster domain."""

from huey.api import Task
from sqlalchemy.orm import Session

from app.core.queue import job
from app.roster import service

RETRIES = 12
RETRY_DELAY = 300  # seconds: another import may hold the roster for a minute or two


@job("roster.import", queue="translate", retries=RETRIES, retry_delay=RETRY_DELAY, context=True)
def run_roster_import(session: Session, import_id: int, task: Task | None = None) -> None:
    """Runs an uploaded import. Only ImportBusy escapes (so the queue retries it later); every
    other outcome, failures included, is recorded on the import itself."""
    try:
        service.run_queued(session, import_id)
    except service.ImportBusy as exc:
        # Nothing was written before ImportBusy: on the last try, the failure is recorded in
        # this job's transaction; otherwise the job fails and waits for its retry.
        if task is not None and task.retries == 0:
            service.fail_queued(session, import_id, f"{exc.message} (gave up waiting)")
            return
        raise
