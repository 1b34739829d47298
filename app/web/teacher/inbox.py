"""The inbox: the viewer's threads, those awaiting an answer first, each with its latest
message (in the viewer's language when it is a family's reply), how that went out, and who
it is with."""

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from app.auth.dependencies import Viewer
from app.core.db import SessionDep
from app.core.pagination import Page, paginate
from app.delivery.models import Delivery
from app.messaging import service as messaging
from app.messaging.models import Message, Thread, ThreadGuardian
from app.people.models import Guardian, Student
from app.schools.models import School
from app.translation.languages import mt_code
from app.web.formatting import excerpt, full_name, language_name, status, viewer_language, when
from app.web.pages import form_id, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
# A broadcast thread may reach thousands of families: name a few, count the rest.
NAMED_GUARDIANS = 6


def _last_direction() -> Any:
    return (
        select(Message.direction)
        .where(Message.thread_id == Thread.id)
        .order_by(Message.id.desc())
        .limit(1)
        .correlate(Thread)
        .scalar_subquery()
    )


def inbox_statement(viewer: Viewer) -> Any:
    """The viewer's readable threads: those whose latest message is a family's reply (nobody
    has answered it yet) first, then the most recent. Hearth keeps no per-reader "seen" mark,
    so an unanswered reply is what counts as new."""
    awaiting = case((_last_direction() == "inbound", 0), else_=1)
    return messaging.readable_threads(viewer.subject).order_by(
        awaiting, Thread.last_activity_at.desc(), Thread.id.desc()
    )


@dataclass
class InboxData:
    """What the inbox shows of a page of threads, by thread id."""

    last: dict[int, Message] = field(default_factory=dict)
    # (status, error code, count) of the deliveries of the latest note sent
    statuses: dict[int, list[tuple[str, str | None, int]]] = field(default_factory=dict)
    family: dict[int, list[Guardian]] = field(default_factory=dict)
    languages: dict[int, list[str]] = field(default_factory=dict)
    students: dict[int, Student] = field(default_factory=dict)
    zones: dict[int, str] = field(default_factory=dict)


def read_inbox(session: Session, threads: list[Thread]) -> InboxData:
    """The queries behind the inbox rows (messages, deliveries, thread members), read here
    until messaging offers them as one read."""
    data = InboxData()
    ids = [t.id for t in threads]
    last_ids = (
        select(func.max(Message.id)).where(Message.thread_id.in_(ids)).group_by(Message.thread_id)
    )
    data.last = {
        m.thread_id: m
        for m in session.scalars(
            select(Message)
            .where(Message.id.in_(last_ids))
            .options(selectinload(Message.translations))
        )
    }
    last_outbound = (
        select(func.max(Message.id))
        .where(Message.thread_id.in_(ids), Message.direction == "outbound")
        .group_by(Message.thread_id)
    )
    for thread_id, value, code, count in session.execute(
        select(Message.thread_id, Delivery.status, Delivery.error_code, func.count())
        .join(Message, Message.id == Delivery.message_id)
        .where(Delivery.message_id.in_(last_outbound))
        .group_by(Message.thread_id, Delivery.status, Delivery.error_code)
        .order_by(Message.thread_id, Delivery.status)
    ):
        data.statuses.setdefault(thread_id, []).append((value, code, count))
    small = [t.id for t in threads if len(t.guardian_links) <= NAMED_GUARDIANS]
    for thread_id, guardian in session.execute(
        select(ThreadGuardian.thread_id, Guardian)
        .join(Guardian, Guardian.id == ThreadGuardian.guardian_id)
        .where(ThreadGuardian.thread_id.in_(small))
        .order_by(Guardian.family_name, Guardian.given_name, Guardian.id)
    ):
        data.family.setdefault(thread_id, []).append(guardian)
    for thread_id, tag in session.execute(
        select(ThreadGuardian.thread_id, Guardian.language)
        .join(Guardian, Guardian.id == ThreadGuardian.guardian_id)
        .where(ThreadGuardian.thread_id.in_(ids))
        .distinct()
        .order_by(ThreadGuardian.thread_id, Guardian.language)
    ):
        data.languages.setdefault(thread_id, []).append(tag)
    student_ids = {t.student_id for t in threads if t.student_id}
    data.students = {
        s.id: s for s in session.scalars(select(Student).where(Student.id.in_(student_ids)))
    }
    data.zones = dict(
        session.execute(
            select(School.id, School.timezone).where(School.id.in_({t.school_id for t in threads}))
        ).all()
    )
    return data


def _preview(message: Message, reader: str) -> tuple[str, bool]:
    """The latest message's text, and whether it is the viewer's translation of a reply."""
    if message.direction == "inbound":
        for tr in message.translations:
            if tr.language == reader and tr.status == "translated" and tr.text:
                return tr.text, True
    return message.body, False


def _inbox_rows(
    request: Request, session: Session, threads: list[Thread], ui: str
) -> list[dict[str, Any]]:
    if not threads:
        return []
    data = read_inbox(session, threads)
    reader = mt_code(ui)
    rows = []
    for t in threads:
        message = data.last.get(t.id)
        preview, translated = _preview(message, reader) if message is not None else ("", False)
        student = data.students.get(t.student_id) if t.student_id else None
        family = data.family.get(t.id)
        rows.append(
            {
                "id": t.id,
                "subject": t.subject,
                "notice": t.notice_thread_id is not None,  # a family's reply to a broadcast
                "student": full_name(student) if student else None,
                "family": [full_name(g) for g in family] if family else None,
                "family_count": len(t.guardian_links),
                "languages": [language_name(tag, ui) for tag in data.languages.get(t.id, [])],
                "preview": excerpt(preview) if preview else "",
                "direction": message.direction if message else None,
                "translated": translated,
                "statuses": [
                    {**status(request, value, code), "n": count}
                    for value, code, count in data.statuses.get(t.id, [])
                ],
                "when": when(t.last_activity_at, data.zones.get(t.school_id, "UTC"), ui),
                "when_iso": t.last_activity_at.isoformat(),
                "awaiting": message is not None and message.direction == "inbound",
                "archived": t.status == "archived",
            }
        )
    return rows


@router.get("/inbox")
def inbox(request: Request, session: SessionDep, viewer: Viewer, page: str = "1") -> Response:
    number = min(form_id(page) or 1, 100_000)
    threads, total = paginate(
        session, inbox_statement(viewer), Page(limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    )
    rows = _inbox_rows(request, session, threads, viewer_language(viewer))
    return render(
        request,
        "teacher/inbox.html",
        {
            "rows": rows,
            "total": total,
            "page": number,
            "more": number * PAGE_SIZE < total,
            "awaiting": sum(1 for r in rows if r["awaiting"]),
        },
    )
