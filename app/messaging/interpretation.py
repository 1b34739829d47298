"""No family left with nothing. Where neither a model nor a person has put a message in a
family's language, a message that can wait becomes an interpretation task (its deliveries wait
for the interpreter's text); an urgent one goes now in the school's language under one line
people wrote in the family's language ("Important message from ... Call ... for help in your
language."). Never silently English, never nothing."""

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.db import utcnow
from app.core.languages import ENGLISH
from app.messaging.models import InterpretationTask, Message
from app.notices.catalogs import domain_text
from app.people.models import Staff, StaffLanguage, StaffSchool
from app.schools.models import School

# MessageTranslation.status of a row sent as the school's text under the one line.
FALLBACK = "fallback"
NO_ROUTE, POOR, REQUESTED = "no_route", "poor", "requested"
# TRANSLATORS: the one line in the family's language above an urgent text sent in the
# school's language (no translation was possible in time). %(phone)s is a phone number.
HELP_LINE = "Important message from %(school)s. Call %(phone)s for help in your language."
# Its own catalog (locales/<lang>/LC_MESSAGES/fallback.po), for many more languages than the
# notices have: Hmong, Somali, Haitian Creole... `make catalogs`; babel-fallback.cfg.
HELP_LINE_DOMAIN = "fallback"


def help_phone(school: School) -> str:
    """The number families call for help in their language: the school's help line, else the
    number its texts come from."""
    if school.help_phone:
        return school.help_phone
    if school.sms_sender and school.sms_sender.startswith("+"):
        return school.sms_sender
    return school.email_sender or ""


def help_line(school: School, language: str) -> tuple[str, str]:
    """The one line above an urgent text no translation reaches, and the language it is in:
    the family's, as people wrote it, else English where no catalog has it yet."""
    values = {"school": school.name, "phone": help_phone(school)}
    line = domain_text(HELP_LINE_DOMAIN, HELP_LINE, language)
    return (HELP_LINE % values, ENGLISH) if line is None else (line % values, language)


def fallback_text(school: School, language: str, school_text: str) -> str:
    """An urgent text for a family no translation reaches: the line people wrote in its
    language (English only where no catalog has it yet), then the text as the school wrote
    it."""
    return f"{help_line(school, language)[0]}\n\n{school_text}"


def has_interpreter(session: Session, school_id: int, language: str) -> bool:
    """Whether an active interpreter of `language` (an MT code) works at the school: a poor
    machine translation then waits for them; with none, it goes as the author chose to send
    it (the preview marked it), rather than waiting on nobody."""
    return (
        session.scalar(
            select(Staff.id)
            .join(StaffSchool, StaffSchool.staff_id == Staff.id)
            .join(StaffLanguage, StaffLanguage.staff_id == Staff.id)
            .where(
                Staff.active.is_(True),
                Staff.role == "interpreter",
                StaffSchool.school_id == school_id,
                StaffLanguage.language == language,
            )
            .limit(1)
        )
        is not None
    )


def due_at(school: School, now: datetime | None = None) -> datetime:
    hours = 24 if school.interpreter_hours is None else school.interpreter_hours
    return (now or utcnow()) + timedelta(hours=hours)


def open_task(
    session: Session,
    message: Message,
    school: School,
    *,
    language: str,
    family_language: str,
    reason: str,
    machine_text: str | None = None,
    requested_by: int | None = None,
) -> InterpretationTask:
    """The task for a message in one language, opened once (asking again returns it)."""
    task = session.scalar(
        select(InterpretationTask).where(
            InterpretationTask.message_id == message.id, InterpretationTask.language == language
        )
    )
    if task is not None:
        return task
    task = InterpretationTask(
        school_id=school.id,
        message_id=message.id,
        direction=message.direction,
        source_language=message.language,
        language=language,
        family_language=family_language,
        reason=reason,
        machine_text=machine_text,
        status="open",
        requested_by_staff_id=requested_by,
        due_at=due_at(school),
    )
    session.add(task)
    session.flush()
    return task
