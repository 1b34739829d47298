"""Interpreters in the loop: the tasks a person translates (an outgoing message no model reaches
well, a family's reply the model read poorly, or a text staff asked about), what each caller may
see of them, the interpreter's text taking the machine's place, and the deadline that hands an
open task to the office."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.service import AuthSubject
from app.core.db import utcnow
from app.core.errors import Invalid, NotFound
from app.core.languages import mt_code
from app.core.queue import enqueue_job
from app.delivery import service as delivery
from app.messaging import family_links, interpretation, translations
from app.messaging.models import InterpretationTask, Message, MessageTranslation, Thread
from app.messaging.service import get_thread, readable_threads
from app.people.models import StaffLanguage
from app.schools.models import School
from app.translation import service as translation

MAX_TEXT = 5000


def readable_tasks(subject: AuthSubject) -> Select[InterpretationTask]:
    """Every list and get of tasks starts here. An interpreter sees the tasks in the languages
    they interpret at their schools, and nothing else of the school; a teacher the tasks of
    their own threads; office staff and admins every task of their schools."""
    stmt = select(InterpretationTask)
    if subject.school_ids is not None:
        stmt = stmt.where(InterpretationTask.school_id.in_(subject.school_ids))
    if subject.is_interpreter:
        theirs = select(StaffLanguage.language).where(
            StaffLanguage.staff_id == (subject.staff_id or 0)
        )
        return stmt.where(InterpretationTask.family_language.in_(theirs))
    if subject.is_teacher:
        threads = readable_threads(subject).with_only_columns(Thread.id)
        stmt = stmt.where(
            InterpretationTask.message_id.in_(
                select(Message.id).where(Message.thread_id.in_(threads))
            )
        )
    return stmt


@dataclass(frozen=True)
class TaskView:
    """A task as the page shows it: the text to translate and the machine's try, no more."""

    task: InterpretationTask
    source_text: str

    @property
    def overdue(self) -> bool:
        return self.task.status == "open" and self.task.escalated_at is not None


def tasks(
    session: Session, subject: AuthSubject, *, status: str = "open", escalated: bool = False
) -> list[TaskView]:
    stmt = readable_tasks(subject).where(InterpretationTask.status == status)
    if escalated:
        stmt = stmt.where(InterpretationTask.escalated_at.is_not(None))
    rows = session.execute(
        stmt.add_columns(Message.body)
        .join(Message, Message.id == InterpretationTask.message_id)
        .order_by(
            InterpretationTask.family_language, InterpretationTask.due_at, InterpretationTask.id
        )
        .limit(500)
    ).all()
    return [TaskView(task, body) for task, body in rows]


def get_task(session: Session, subject: AuthSubject, task_id: int) -> TaskView:
    row = session.execute(
        readable_tasks(subject)
        .add_columns(Message.body)
        .join(Message, Message.id == InterpretationTask.message_id)
        .where(InterpretationTask.id == task_id)
    ).first()
    if row is None:
        raise NotFound("No such interpretation task.")
    return TaskView(row[0], row[1])


def complete(session: Session, subject: AuthSubject, task_id: int, text: str) -> InterpretationTask:
    """The interpreter's text becomes the message's text in the task's language (who, when):
    sent to the families still waiting for it (outgoing), or shown to staff (a reply); and
    remembered, so the same text is given it before any model next time."""
    view = get_task(session, subject, task_id)
    task = view.task
    if not (subject.is_interpreter or subject.role in ("office", "admin")):
        raise NotFound("No such interpretation task.")
    text = text.strip()
    if not text:
        raise Invalid("Write the translation before saving it.")
    if len(text) > MAX_TEXT:
        raise Invalid(f"A translation may be at most {MAX_TEXT} characters.")
    if task.status != "open":
        raise Invalid("This task is already done.")
    task.status, task.text = "done", text
    task.done_by_staff_id, task.done_at = subject.staff_id, utcnow()
    row = session.scalar(
        select(MessageTranslation).where(
            MessageTranslation.message_id == task.message_id,
            MessageTranslation.language == task.language,
        )
    )
    if row is None:
        row = MessageTranslation(message_id=task.message_id, language=task.language)
        session.add(row)
    row.status, row.text, row.reason = "translated", text, None
    row.engine, row.cached = translation.HUMAN_ENGINE, False
    translation.remember(
        session,
        task.school_id,
        task.source_language,
        task.language,
        view.source_text,
        text,
        subject.staff_id,
    )
    session.flush()
    if task.direction == "outbound":
        texts = translations.texts_for_delivery(session, task.message_id)
        links = family_links.linker_for_message(session, task.message_id)
        for delivery_id in delivery.release(session, task.message_id, texts, links):
            enqueue_job(session, "delivery.send", delivery_id)
    audit.record(
        session,
        subject.actor,
        "interpretation.done",
        "interpretation_task",
        task.id,
        school_id=task.school_id,
        details={"message_id": task.message_id, "language": task.language},
    )
    session.flush()
    return task


def ask(
    session: Session, subject: AuthSubject, thread_id: int, message_id: int, language: str
) -> InterpretationTask:
    """Staff ask an interpreter about one text of their thread: a reply's translation for
    them, or an outgoing message for families in `language` whose deliveries have not gone."""
    thread = get_thread(session, subject, thread_id)
    message = session.get(Message, message_id)
    if message is None or message.thread_id != thread.id:
        raise NotFound("No such message.")
    school = session.get(School, thread.school_id)
    assert school is not None
    code = mt_code(language)
    row = session.scalar(
        select(MessageTranslation).where(
            MessageTranslation.message_id == message.id, MessageTranslation.language == code
        )
    )
    if row is None or row.status == "same_language":
        raise Invalid("This message has no translation into that language to check.")
    family_language = mt_code(message.language) if message.direction == "inbound" else code
    task = interpretation.open_task(
        session,
        message,
        school,
        language=code,
        family_language=family_language,
        reason=interpretation.REQUESTED,
        machine_text=row.text,
        requested_by=subject.staff_id,
    )
    audit.record(
        session,
        subject.actor,
        "interpretation.ask",
        "interpretation_task",
        task.id,
        school_id=school.id,
        details={"message_id": message.id, "language": code},
    )
    return task


def waiting(session: Session, message_ids: list[int]) -> dict[int, set[str]]:
    """Message id → the languages whose text an interpreter has still to write."""
    out: dict[int, set[str]] = {}
    if not message_ids:
        return out
    for message_id, language in session.execute(
        select(InterpretationTask.message_id, InterpretationTask.language).where(
            InterpretationTask.message_id.in_(message_ids), InterpretationTask.status == "open"
        )
    ):
        out.setdefault(message_id, set()).add(language)
    return out


def escalate_overdue(session: Session, now: datetime | None = None) -> int:
    """Open tasks past their deadline go to the office (shown on its interpreting page).
    Returns how many were escalated now."""
    now = now or utcnow()
    escalated: int = session.execute(
        update(InterpretationTask)
        .where(
            InterpretationTask.status == "open",
            InterpretationTask.escalated_at.is_(None),
            InterpretationTask.due_at <= now,
        )
        .values(escalated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return escalated
