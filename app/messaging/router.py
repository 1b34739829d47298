from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Query, Response, UploadFile, status
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.auth.dependencies import Reader, Sender, Writer
from app.auth.service import AuthSubject
from app.core.db import SessionDep
from app.core.errors import NotFound
from app.core.pagination import ListResource, PageDep, list_resource, paginate
from app.core.schema import Id, Text
from app.delivery import attachments as attachment_files
from app.delivery.models import Attachment
from app.messaging import attachments, family_links, reading, service
from app.messaging.models import Message, Thread
from app.messaging.schemas import (
    AttachmentRead,
    FamilyLinkCreated,
    FamilyLinksRevoked,
    MessageCreate,
    MessageMove,
    MessageRead,
    ThreadCreate,
    ThreadDetail,
    ThreadRead,
    ThreadUpdate,
)
from app.questions import service as questions
from app.questions.schemas import AnswersRead

router = APIRouter(prefix="/api/v1", tags=["messaging"])
T = TypeVar("T", bound=BaseModel)


@router.get("/threads", response_model=ListResource[ThreadRead])
def list_threads(
    session: SessionDep,
    subject: Reader,
    page: PageDep,
    school_id: Id | None = None,
    student_id: Id | None = None,
    guardian_id: Id | None = None,
    status: Literal["open", "archived"] | None = None,
    q: Annotated[Text | None, Query(max_length=100)] = None,
    needs_answer: bool | None = None,
    unread: bool | None = None,
) -> dict[str, Any]:
    stmt = service.thread_filters(
        service.readable_threads(subject),
        school_id=school_id,
        student_id=student_id,
        guardian_id=guardian_id,
        status=status,
        q=q,
    )
    if needs_answer is not None:
        stmt = stmt.where(reading.needs_answer() if needs_answer else ~reading.needs_answer())
    if unread is not None:
        new = reading.unread(subject.staff_id)
        stmt = stmt.where(new if unread else ~new)
    items, total = paginate(session, stmt, page)
    return list_resource(_with_state(session, subject, items, ThreadRead), total, page)


def _with_state(
    session: Session, subject: AuthSubject, threads: list[Thread], schema: type[T]
) -> list[T]:
    """Threads as `schema`, with what is new and unanswered for the caller."""
    state = reading.states(session, subject, [t.id for t in threads])
    return [schema.model_validate(t).model_copy(update=state.get(t.id, {})) for t in threads]


@router.post("/threads", response_model=ThreadRead, status_code=status.HTTP_201_CREATED)
def create_thread(data: ThreadCreate, session: SessionDep, subject: Writer) -> Thread:
    return service.create_thread(session, subject, data)


@router.get("/threads/{thread_id}", response_model=ThreadDetail)
def get_thread(thread_id: Id, session: SessionDep, subject: Reader) -> ThreadDetail:
    thread = service.get_thread(session, subject, thread_id, with_messages=True)
    return _with_state(session, subject, [thread], ThreadDetail)[0]


@router.post("/threads/{thread_id}/read", response_model=ThreadRead)
def mark_read(thread_id: Id, session: SessionDep, subject: Reader) -> ThreadRead:
    """The caller (a staff member's key) has seen the thread: its replies are no longer new."""
    thread = service.get_thread(session, subject, thread_id)
    reading.mark_read(session, subject, thread.id)
    return _with_state(session, subject, [thread], ThreadRead)[0]


@router.post("/threads/{thread_id}/answered", response_model=ThreadRead)
def mark_answered(thread_id: Id, session: SessionDep, subject: Writer) -> ThreadRead:
    """A staff member's key marks the replies so far as needing no answer (a key that acts as
    no one cannot: 403)."""
    thread = service.mark_answered(session, subject, thread_id)
    return _with_state(session, subject, [thread], ThreadRead)[0]


@router.patch("/threads/{thread_id}", response_model=ThreadRead)
def update_thread(
    thread_id: Id, data: ThreadUpdate, session: SessionDep, subject: Writer
) -> Thread:
    return service.update_thread(session, subject, thread_id, data)


@router.post(
    "/threads/{thread_id}/messages", response_model=MessageRead, status_code=status.HTTP_201_CREATED
)
def post_message(
    thread_id: Id, data: MessageCreate, session: SessionDep, subject: Sender
) -> Message:
    """A note to the thread's families, each in its language. With `question`, it asks them
    one (as a broadcast does): their replies are read as answers
    (`GET …/messages/{id}/answers`), and their family page offers buttons to answer."""
    if data.question is not None:
        return questions.ask_in_note(session, subject, thread_id, data)
    return service.post_message(session, subject, thread_id, data)


@router.get("/threads/{thread_id}/messages/{message_id}/answers", response_model=AnswersRead)
def note_answers(
    thread_id: Id, message_id: Id, session: SessionDep, subject: Reader
) -> dict[str, Any]:
    """The answers to the question a note asks: counted, who answered what, who has not."""
    return questions.note_answers(session, subject, thread_id, message_id)


@router.post("/threads/{thread_id}/take-over", response_model=ThreadRead)
def take_over(thread_id: Id, session: SessionDep, subject: Writer) -> Thread:
    """The caller becomes the thread's owner: its replies reach them (e.g. a teacher taking
    over a family's reply to the school's notice from the office). Audited."""
    return service.take_over(session, subject, thread_id)


@router.post("/messages/{message_id}/move", response_model=MessageRead)
def move_reply(message_id: Id, data: MessageMove, session: SessionDep, subject: Writer) -> Message:
    """Move a family's reply to the right thread. Audited."""
    return service.move_reply(session, subject, message_id, data.thread_id)


@router.post(
    "/guardians/{guardian_id}/family-link",
    response_model=FamilyLinkCreated,
    status_code=status.HTTP_201_CREATED,
    tags=["family page"],
)
def create_family_link(guardian_id: Id, session: SessionDep, subject: Writer) -> FamilyLinkCreated:
    """A new link to the family page for this guardian (staff of the guardian's school). The
    URL is in this answer only: Hearth keeps a hash of its token. Audited."""
    link, url = family_links.create_for_staff(session, subject, guardian_id)
    return FamilyLinkCreated(
        id=link.id,
        guardian_id=link.guardian_id,
        url=url,
        created_at=link.created_at,
        expires_at=link.expires_at,
    )


@router.delete(
    "/guardians/{guardian_id}/family-link", response_model=FamilyLinksRevoked, tags=["family page"]
)
def revoke_family_links(
    guardian_id: Id, session: SessionDep, subject: Writer
) -> FamilyLinksRevoked:
    """Every link of this guardian to the family page stops working (a lost phone, a link sent
    to the wrong person). Audited."""
    revoked = family_links.revoke_for_staff(session, subject, guardian_id)
    return FamilyLinksRevoked(guardian_id=guardian_id, revoked=revoked)


@router.post("/attachments", response_model=AttachmentRead, status_code=status.HTTP_201_CREATED)
def upload_attachment(file: UploadFile, session: SessionDep, subject: Sender) -> Attachment:
    """A photo (JPEG, PNG, WebP, GIF) or a PDF, up to HEARTH_ATTACHMENT_MAX_MB, to name in a
    note's or a broadcast's `attachment_ids`. What it is comes from its bytes; photos are
    stored without their metadata (EXIF, GPS)."""
    data = file.file.read(attachments.read_limit())
    return attachments.upload(
        session, subject, file.filename or "attachment", file.content_type, data
    )


@router.get(
    "/attachments/{attachment_id}",
    response_class=Response,
    responses={
        200: {
            "description": "The file: a photo (shown) or a PDF (downloaded).",
            "content": {
                "image/jpeg": {},
                "image/png": {},
                "image/webp": {},
                "image/gif": {},
                "application/pdf": {},
            },
        },
        503: {"description": "The attachment store did not answer."},
    },
)
def get_attachment(attachment_id: Id, session: SessionDep, subject: Reader) -> Response:
    """The file, for staff who may read its message's thread."""
    row = attachments.for_staff(session, subject, attachment_id)
    return file_response(row)


def file_response(row: Attachment, headers: dict[str, str] | None = None) -> Response:
    """A stored file as it is served: photos shown, PDFs downloaded, never sniffed. `NotFound`
    when its file is gone, whichever store keeps it."""
    try:
        data = attachment_files.read(row)
    except FileNotFoundError:
        raise NotFound("No such attachment.") from None
    kind = "inline" if row.is_image else "attachment"
    quoted = quote(row.filename)
    disposition = (
        f"{kind}; filename*=utf-8''{quoted}"
        if quoted != row.filename
        else f'{kind}; filename="{row.filename}"'
    )
    return Response(
        data,
        media_type=row.content_type,
        headers={
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            **(headers or {}),
        },
    )
