"""Every queue task, imported in one place so a worker knows them all."""

from app.delivery import tasks as delivery_tasks
from app.messaging import tasks as messaging_tasks
from app.roster import tasks as roster_tasks

__all__ = ["delivery_tasks", "messaging_tasks", "roster_tasks"]
