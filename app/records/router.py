from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.dependencies import AdminScope
from app.core.db import SessionDep
from app.core.errors import Invalid
from app.core.schema import Id
from app.records import service
from app.records.schemas import DeletionReport, GuardianExport

router = APIRouter(prefix="/api/v1", tags=["records"])


@router.get("/guardians/{guardian_id}/export", response_model=GuardianExport)
def export_guardian(guardian_id: Id, session: SessionDep, subject: AdminScope):
    """Everything Hearth holds about one family (for a records request): the guardian, their
    students, threads with messages as written and translated, deliveries, replies, opt-outs,
    channel settings and audit entries. Another family's replies in a shared thread are left
    out. The export itself is recorded in the audit log."""
    return service.export_guardian(session, subject, guardian_id)


@router.delete("/guardians/{guardian_id}", response_model=DeletionReport)
def delete_guardian(
    guardian_id: Id,
    session: SessionDep,
    subject: AdminScope,
    confirm: Annotated[
        bool, Query(description="Must be true: the family's data is erased for good.")
    ] = False,
):
    """Erase one family for good: name, phone, email, student links, the messages only they
    received or wrote, their deliveries' texts and addresses. Deliveries not yet sent are
    canceled. The guardian's id stays as an inactive, nameless record so that old counts stay
    right; a STOP from their number is kept. Answers what was erased."""
    if not confirm:
        raise Invalid(
            "Deleting a family erases their name, phone, email and messages for good. "
            "Export them first if you need a copy, then repeat the request with ?confirm=true."
        )
    return service.delete_guardian(session, subject, guardian_id)
