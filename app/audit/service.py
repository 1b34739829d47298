from typing import Any

from sqlalchemy.orm import Session

from app.audit.models import AuditEvent


def record(
    session: Session,
    actor: str,
    action: str,
    object_type: str,
    object_id: int | str | None = None,
    *,
    school_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Adds an audit event to the caller's transaction: it commits or rolls back with the write."""
    session.add(
        AuditEvent(
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            school_id=school_id,
            details=details or {},
        )
    )
