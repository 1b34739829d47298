from fastapi import APIRouter, status
from fastapi.responses import Response

from app.auth.dependencies import Reader, Sender
from app.broadcasts import service
from app.broadcasts.schemas import BroadcastDraft, BroadcastRead, Preview
from app.core.db import SessionDep
from app.core.schema import Id
from app.questions.schemas import AnswersRead

router = APIRouter(prefix="/api/v1/broadcasts", tags=["broadcasts"])


@router.post("/preview", response_model=Preview)
def preview(draft: BroadcastDraft, session: SessionDep, subject: Sender):
    """Who will get what, in which language, how many SMS segments it costs, and who cannot be
    reached. Sends nothing and saves nothing."""
    return service.preview(session, subject, draft)


@router.post("", response_model=BroadcastRead, status_code=status.HTTP_201_CREATED)
def create(draft: BroadcastDraft, session: SessionDep, subject: Sender):
    """Send now, or at `scheduled_at` (a non-urgent broadcast waits for quiet hours to end)."""
    return service.create(session, subject, draft)


@router.get("/{broadcast_id}", response_model=BroadcastRead)
def get(broadcast_id: Id, session: SessionDep, subject: Reader):
    broadcast = service.get(session, subject, broadcast_id)
    read = BroadcastRead.model_validate(broadcast)
    read.report = service.report(session, broadcast)
    return read


@router.post("/{broadcast_id}/cancel", response_model=BroadcastRead)
def cancel(broadcast_id: Id, session: SessionDep, subject: Sender):
    return service.cancel(session, subject, broadcast_id)


@router.get("/{broadcast_id}/report.csv", response_class=Response)
def report_csv(broadcast_id: Id, session: SessionDep, subject: Reader) -> Response:
    name, body = service.export_csv(session, subject, broadcast_id)
    return Response(
        body,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/{broadcast_id}/answers", response_model=AnswersRead)
def answers(broadcast_id: Id, session: SessionDep, subject: Reader):
    """The answers to the broadcast's question: `counts` per option (`yes`/`no` for yes/no,
    the option numbers for a choice, the numbers given for a number), the same per language,
    every current answer as written, and the families who have not answered (with their phone
    and email, for a call list). 404 when the broadcast asks no question."""
    return service.answers(session, subject, broadcast_id)


@router.get("/{broadcast_id}/answers.csv", response_class=Response)
def answers_csv(broadcast_id: Id, session: SessionDep, subject: Reader) -> Response:
    name, body = service.answers_csv(session, subject, broadcast_id)
    return Response(
        body,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
