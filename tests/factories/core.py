"""The process leases of job-running processes."""

from datetime import timedelta

import factory

from app.core.db import utcnow
from app.core.leases import ProcessLease
from tests.factories.base import Base


class ProcessLeaseFactory(Base):
    """A worker alive now; pass renewed_at in the past for one that died."""

    class Meta:
        model = ProcessLease

    owner = factory.Sequence(lambda n: f"worker-{n}.school.example.org:{4000 + n}:{n:012x}")
    started_at = factory.LazyFunction(lambda: utcnow() - timedelta(minutes=5))
    renewed_at = factory.LazyFunction(utcnow)
