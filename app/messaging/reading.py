"""Who has read and who has answered a thread.

- **New** is per staff member: a thread has a new reply for a person while a family's reply in
  it is later than the last message that person saw when they opened it (ReadMark).
- **Needs an answer** is the thread's: a family's reply in it is later than
  `Thread.answered_through`, which moves only when a staff member writes in the thread or
  marks it answered. A message posted by an integration key (it acts as no one) or a system
  text leaves it where it was, so a question is not buried by an automatic message."""

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from app.auth.service import AuthSubject
from app.core.db import utcnow
from app.core.errors import Forbidden
from app.messaging.models import Message, ReadMark, Thread


def _last_reply() -> ColumnElement[int]:
    latest = (
        select(func.max(Message.id))
        .where(Message.thread_id == Thread.id, Message.direction == "inbound")
        .correlate(Thread)
        .scalar_subquery()
    )
    return func.coalesce(latest, 0)


def needs_answer() -> ColumnElement[bool]:
    """Threads with a family's reply no staff member has answered."""
    return _last_reply() > func.coalesce(Thread.answered_through, 0)


def unread(staff_id: int | None) -> ColumnElement[bool]:
    """Threads with a family's reply this staff member has not opened (for no one: none)."""
    seen = (
        select(ReadMark.message_id)
        .where(ReadMark.thread_id == Thread.id, ReadMark.staff_id == (staff_id or 0))
        .correlate(Thread)
        .scalar_subquery()
    )
    return _last_reply() > func.coalesce(seen, 0)


def states(
    session: Session, subject: AuthSubject, thread_ids: list[int]
) -> dict[int, dict[str, bool]]:
    """Thread id → {"unread", "needs_answer"} for the caller."""
    if not thread_ids:
        return {}
    rows = session.execute(
        select(Thread.id, unread(subject.staff_id), needs_answer()).where(Thread.id.in_(thread_ids))
    )
    return {
        thread_id: {
            "unread": bool(new) and subject.staff_id is not None,
            "needs_answer": bool(open_),
        }
        for thread_id, new, open_ in rows
    }


def _latest(session: Session, thread_id: int) -> int:
    return session.scalar(select(func.max(Message.id)).where(Message.thread_id == thread_id)) or 0


def mark_read(
    session: Session, subject: AuthSubject, thread_id: int, up_to: int | None = None
) -> None:
    """The caller (a staff member) has seen the thread up to `up_to` (its latest message)."""
    if subject.staff_id is None:
        return
    up_to = up_to if up_to is not None else _latest(session, thread_id)
    mark = session.get(ReadMark, (subject.staff_id, thread_id))
    if mark is None:
        session.add(ReadMark(staff_id=subject.staff_id, thread_id=thread_id, message_id=up_to))
    elif mark.message_id < up_to:
        mark.message_id = up_to
        mark.read_at = utcnow()
    session.flush()


def answered(session: Session, subject: AuthSubject, thread: Thread, up_to: int) -> None:
    """A staff member wrote message `up_to` in the thread: what came before is answered, and
    they have read it. Integration keys and system texts answer nothing."""
    if subject.staff_id is None:
        return
    thread.answered_through = max(thread.answered_through or 0, up_to)
    mark_read(session, subject, thread.id, up_to)


def mark_answered(session: Session, subject: AuthSubject, thread: Thread) -> None:
    """ "Mark as answered": the replies so far need no answer (a staff member's call)."""
    if subject.staff_id is None:
        raise Forbidden("Only a staff member can mark a conversation as answered.")
    answered(session, subject, thread, _latest(session, thread.id))
