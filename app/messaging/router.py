from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from app.auth.dependencies import Reader, Sender, Writer
from app.core.db import SessionDep
from app.core.pagination import ListResource, PageDep, list_resource, paginate
from app.core.schema import Id, Text
from app.messaging import service
from app.messaging.schemas import (
    MessageCreate,
    MessageMove,
    MessageRead,
    ThreadCreate,
    ThreadDetail,
    ThreadRead,
    ThreadUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["messaging"])


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
):
    stmt = service.thread_filters(
        service.readable_threads(subject),
        school_id=school_id,
        student_id=student_id,
        guardian_id=guardian_id,
        status=status,
        q=q,
    )
    items, total = paginate(session, stmt, page)
    return list_resource(items, total, page)


@router.post("/threads", response_model=ThreadRead, status_code=status.HTTP_201_CREATED)
def create_thread(data: ThreadCreate, session: SessionDep, subject: Writer):
    return service.create_thread(session, subject, data)


@router.get("/threads/{thread_id}", response_model=ThreadDetail)
def get_thread(thread_id: Id, session: SessionDep, subject: Reader):
    return service.get_thread(session, subject, thread_id, with_messages=True)


@router.patch("/threads/{thread_id}", response_model=ThreadRead)
def update_thread(thread_id: Id, data: ThreadUpdate, session: SessionDep, subject: Writer):
    return service.update_thread(session, subject, thread_id, data)


@router.post(
    "/threads/{thread_id}/messages", response_model=MessageRead, status_code=status.HTTP_201_CREATED
)
def post_message(thread_id: Id, data: MessageCreate, session: SessionDep, subject: Sender):
    return service.post_message(session, subject, thread_id, data)


@router.post("/threads/{thread_id}/take-over", response_model=ThreadRead)
def take_over(thread_id: Id, session: SessionDep, subject: Writer):
    """The caller becomes the thread's owner: its replies reach them (e.g. a teacher taking
    over a family's reply to the school's notice from the office). Audited."""
    return service.take_over(session, subject, thread_id)


@router.post("/messages/{message_id}/move", response_model=MessageRead)
def move_reply(message_id: Id, data: MessageMove, session: SessionDep, subject: Writer):
    """Move a family's reply to the right thread. Audited."""
    return service.move_reply(session, subject, message_id, data.thread_id)
