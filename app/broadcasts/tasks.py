from huey import crontab

from app.core.db import get_sessionmaker
from app.core.queue import PERIODIC_PRIORITY, enqueue_after_commit, huey, translation_huey

BATCH = 200  # deliveries per sending job


@translation_huey.task(retries=2, retry_delay=30)
def fan_out(broadcast_id: int) -> int:
    from app.broadcasts import service
    from app.delivery import tasks as delivery_tasks

    with get_sessionmaker()() as session:
        ready = service.fan_out(session, broadcast_id)
        for start in range(0, len(ready), BATCH):
            enqueue_after_commit(session, delivery_tasks.send_batch, ready[start : start + BATCH])
        session.commit()
    return len(ready)


@huey.periodic_task(crontab(minute="*"), priority=PERIODIC_PRIORITY)
def send_due_broadcasts() -> int:
    """Scheduled broadcasts whose time has come, even across restarts; each is claimed once."""
    from app.broadcasts import service

    with get_sessionmaker()() as session:
        ids = service.due(session)
    for broadcast_id in ids:
        fan_out(broadcast_id)
    return len(ids)
