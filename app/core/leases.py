"""Which job-running processes are alive, so that what a dead one left half-done is picked up in
seconds instead of after a fixed age.

Every process that runs jobs (`hearth serve` with its consumer threads, `hearth worker`) holds a
lease: a row it renews every few seconds (HEARTH_WORKER_LEASE_SECONDS / 3). The work it claims is
stamped with its name. A process that stops gracefully gives its lease back; one that is killed
(SIGKILL, power cut, OOM) leaves a lease that nobody renews. When any live process sees such a
lease expire, it takes it (one process wins) and runs the recovery jobs with the dead owner's
name: its interrupted sends are settled with the provider and the work it had taken off the
queue is queued again. Work stamped with no name (a process without a lease, e.g. a command
running a job inline) is settled by age as before."""

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import String, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core.config import get_settings
from app.core.db import Base, utcnow


class ProcessLease(Base):
    __tablename__ = "process_leases"

    owner: Mapped[str] = mapped_column(String(120), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    renewed_at: Mapped[datetime]


# (pid, name) of this process's lease while it holds one; a forked child holds none of its own.
_held: tuple[int, str] | None = None


def new_owner() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def current_owner() -> str | None:
    """The name work claimed now is stamped with: this process's lease, if it holds one."""
    if _held is not None and _held[0] == os.getpid():
        return _held[1]
    return None


def lease_length() -> timedelta:
    return timedelta(seconds=get_settings().worker_lease_seconds)


def take(session: Session, owner: str) -> None:
    """Start holding a lease under `owner` (the caller commits)."""
    global _held
    now = utcnow()
    session.add(ProcessLease(owner=owner, started_at=now, renewed_at=now))
    session.flush()
    _held = (os.getpid(), owner)


def renew(session: Session, owner: str) -> bool:
    """False if the lease is gone: others took this process for dead (it was stalled longer than
    a lease), so it holds it again under the same name."""
    renewed = session.execute(
        update(ProcessLease)
        .where(ProcessLease.owner == owner)
        .values(renewed_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if renewed == 1:
        return True
    session.add(ProcessLease(owner=owner, started_at=utcnow(), renewed_at=utcnow()))
    return False


def give_back(session: Session, owner: str) -> None:
    """A graceful stop: nothing of this process needs recovering."""
    global _held
    session.execute(delete(ProcessLease).where(ProcessLease.owner == owner))
    if _held is not None and _held[1] == owner:
        _held = None


def take_over_expired(session: Session, now: datetime | None = None) -> list[str]:
    """The owners whose lease ran out, each taken by exactly one caller (a conditional delete):
    the caller runs the recovery for them."""
    now = now or utcnow()
    expired = list(
        session.scalars(
            select(ProcessLease.owner).where(ProcessLease.renewed_at < now - lease_length())
        )
    )
    taken = []
    for owner in expired:
        gone = session.execute(
            delete(ProcessLease).where(
                ProcessLease.owner == owner, ProcessLease.renewed_at < now - lease_length()
            )
        ).rowcount  # type: ignore[attr-defined]
        if gone == 1:
            taken.append(owner)
    return taken
