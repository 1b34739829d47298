"""Every queue task, imported in one place so a worker knows them all."""

from app.broadcasts import tasks as broadcast_tasks
from app.delivery import tasks as delivery_tasks
from app.messaging import tasks as messaging_tasks
from app.records import tasks as records_tasks
from app.roster import tasks as roster_tasks

__all__ = ["broadcast_tasks", "delivery_tasks", "messaging_tasks", "records_tasks", "roster_tasks"]
