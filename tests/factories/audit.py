"""The audit trail."""

import factory

from app.audit.models import AuditEvent
from tests.factories.base import Base


class AuditEventFactory(Base):
    class Meta:
        model = AuditEvent

    actor = "cli"
    action = "guardian.update"
    object_type = "guardian"
    object_id = factory.Sequence(str)
    school_id = None
    details = factory.LazyFunction(lambda: {"language": ["es", "es-MX"]})
