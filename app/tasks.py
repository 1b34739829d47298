"""Every job module, imported in one place: jobs are enqueued by name, so whatever runs or
queues them (the server, `hearth worker`, the demo, the tests) imports this first."""

from app.broadcasts import tasks as broadcast_tasks
from app.conferences import tasks as conference_tasks
from app.delivery import tasks as delivery_tasks
from app.messaging import tasks as messaging_tasks
from app.questions import tasks as question_tasks
from app.records import tasks as records_tasks
from app.roster import tasks as roster_tasks
from app.translation import detect

__all__ = [
    "broadcast_tasks",
    "conference_tasks",
    "delivery_tasks",
    "messaging_tasks",
    "question_tasks",
    "records_tasks",
    "roster_tasks",
]


def warm_up() -> None:
    """Load what jobs would otherwise load on first use, while holding the database's write
    lock (SQLite: every request's write would wait that long): run before taking work."""
    detect.load()
