"""The families directory the office browses: guardians found by name, email, phone number or
their students' names, the students of each, and the languages families read; all as the
caller may see them (the readable statements of people.service)."""

from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from app.auth.service import AuthSubject
from app.people import search
from app.people.models import Guardian, Student, StudentGuardian
from app.people.service import guardian_filters, readable_guardians, readable_student_ids

PHONE_CHARACTERS = set("0123456789+()-. ")


def _matching(subject: AuthSubject, q: str) -> list[ColumnElement[bool]]:
    """Guardians whose name, email, or one of whose (visible) students' names has every word
    of `q`, accents and case aside (app/people/search.py); or, for something typed like a
    phone number ((512) 555-0101, 5125550101), whose phone has those digits."""
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= 3 and set(q) <= PHONE_CHARACTERS:
        return [Guardian.phone.like(f"%{digits}%")]
    conditions = []
    for word in q.split()[: search.SEARCH_WORDS]:
        students = select(StudentGuardian.guardian_id).where(
            StudentGuardian.student_id.in_(
                readable_student_ids(subject).where(search.matches(Student.search_key, word))
            )
        )
        conditions.append(or_(search.matches(Guardian.search_key, word), Guardian.id.in_(students)))
    return conditions


def directory(
    subject: AuthSubject,
    *,
    q: str = "",
    school_id: int | None = None,
    language: str | None = None,
    active: bool | None = True,
) -> Select[Any]:
    """The guardians the directory lists, in name order (a statement to paginate)."""
    stmt = guardian_filters(
        readable_guardians(subject), school_id=school_id, language=language, active=active
    )
    return stmt.where(*_matching(subject, q)) if q else stmt


def students_of(
    session: Session, subject: AuthSubject, guardian_ids: list[int]
) -> dict[int, list[Student]]:
    """Guardian id → their students the caller may see, by given name."""
    out: dict[int, list[Student]] = {}
    if not guardian_ids:
        return out
    rows = session.execute(
        select(StudentGuardian.guardian_id, Student)
        .join(Student, Student.id == StudentGuardian.student_id)
        .where(
            StudentGuardian.guardian_id.in_(guardian_ids),
            Student.id.in_(readable_student_ids(subject)),
        )
        .order_by(Student.given_name, Student.id)
    )
    for guardian_id, student in rows:
        out.setdefault(guardian_id, []).append(student)
    return out


def family_languages(session: Session, subject: AuthSubject) -> list[str]:
    """The language tags the caller's families read (each once)."""
    used = readable_guardians(subject).with_only_columns(Guardian.language).distinct()
    return list(session.scalars(used))
