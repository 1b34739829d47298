"""Staff, students, guardians (families), and who may see them."""

from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from app.audit import service as audit
from app.auth.service import AuthSubject
from app.auth.sessions import end_sessions
from app.core.errors import Conflict, Invalid, NotFound
from app.core.languages import mt_code
from app.core.pagination import Page, paginate
from app.core.security import hash_password
from app.people import search
from app.people.models import (
    Guardian,
    Staff,
    StaffLanguage,
    StaffSchool,
    Student,
    StudentGuardian,
)
from app.people.schemas import (
    GuardianCreate,
    GuardianUpdate,
    StaffCreate,
    StaffUpdate,
    StudentCreate,
    StudentUpdate,
)
from app.schools.models import Enrollment, School, SectionTeacher

# Readable statements: every list and get starts from one of these -------------------------


def teacher_student_ids(staff_id: int) -> Select[int]:
    return (
        select(Enrollment.student_id)
        .join(SectionTeacher, SectionTeacher.section_id == Enrollment.section_id)
        .where(SectionTeacher.staff_id == staff_id)
    )


def readable_student_ids(subject: AuthSubject) -> Select[int]:
    stmt = select(Student.id)
    if subject.school_ids is not None:
        stmt = stmt.where(Student.school_id.in_(subject.school_ids))
    if subject.is_teacher:
        stmt = stmt.where(Student.id.in_(teacher_student_ids(subject.staff_id or 0)))
    return stmt


def readable_students(subject: AuthSubject) -> Select[Student]:
    if subject.sees_all_schools and not subject.is_teacher:
        return select(Student)
    return select(Student).where(Student.id.in_(readable_student_ids(subject)))


def readable_guardians(subject: AuthSubject) -> Select[Guardian]:
    stmt = select(Guardian).options(selectinload(Guardian.student_links))
    if subject.sees_all_schools and not subject.is_teacher:
        return stmt
    linked = select(StudentGuardian.guardian_id).where(
        StudentGuardian.student_id.in_(readable_student_ids(subject))
    )
    return stmt.where(Guardian.id.in_(linked))


def readable_staff(subject: AuthSubject) -> Select[Staff]:
    stmt = select(Staff).options(
        selectinload(Staff.school_links), selectinload(Staff.language_links)
    )
    if subject.school_ids is None:
        return stmt
    colleagues = select(StaffSchool.staff_id).where(StaffSchool.school_id.in_(subject.school_ids))
    return stmt.where(or_(Staff.id.in_(colleagues), Staff.id == (subject.staff_id or 0)))


# Staff ---------------------------------------------------------------------------------------

# What anyone may change on their own account; the rest is an admin's (AuthSubject.
# require_staff_write).
SELF_SERVICE = {"name", "ui_language", "interprets", "display_name"}


def interpreted(tags: list[str]) -> list[StaffLanguage]:
    """The languages someone interprets, as the MT codes tasks are filed under."""
    return [StaffLanguage(language=code) for code in sorted({mt_code(t) for t in tags})]


def get_staff(session: Session, subject: AuthSubject, staff_id: int) -> Staff:
    staff = session.scalar(readable_staff(subject).where(Staff.id == staff_id))
    if staff is None:
        raise NotFound("No such staff member.")
    return staff


def staff_page(
    session: Session, subject: AuthSubject, page: Page, q: str = ""
) -> tuple[list[Staff], int]:
    """One page of the staff the caller may see whose name or email contains `q`, the active
    first, then by name; and how many there are in all."""
    stmt = readable_staff(subject)
    if q.strip():
        stmt = stmt.where(search.matches(Staff.search_key, q))
    return paginate(session, stmt.order_by(Staff.active.desc(), Staff.name, Staff.id), page)


def _check_schools(session: Session, subject: AuthSubject, school_ids: list[int]) -> list[int]:
    wanted = sorted(set(school_ids))
    for school_id in wanted:
        subject.require_school(school_id)
    found = set(session.scalars(select(School.id).where(School.id.in_(wanted))))
    missing = [s for s in wanted if s not in found]
    if missing:
        raise NotFound(f"No school with id {missing[0]}.")
    return wanted


def create_staff(
    session: Session, subject: AuthSubject, data: StaffCreate, *, actor: str | None = None
) -> Staff:
    """`actor` names who did it in the audit log when the subject is no one's (the CLI)."""
    subject.require_staff_write(data.role, data.school_ids)
    if data.role != "admin" and not data.school_ids:
        raise Invalid("A teacher or office staff member must belong to at least one school.")
    school_ids = _check_schools(session, subject, data.school_ids)
    # Sign-in matches emails in any case, so two accounts may not differ only by case.
    if session.scalar(select(Staff.id).where(func.lower(Staff.email) == data.email.lower())):
        raise Conflict(f"A staff member with email {data.email} already exists.")
    staff = Staff(
        name=data.name,
        email=data.email,
        role=data.role,
        ui_language=data.ui_language,
        password_hash=hash_password(data.password) if data.password else None,
        school_links=[StaffSchool(school_id=s) for s in school_ids],
        language_links=interpreted(data.interprets),
    )
    session.add(staff)
    session.flush()
    audit.record(session, actor or subject.actor, "staff.create", "staff", staff.id)
    session.flush()
    return staff


def update_staff(session: Session, subject: AuthSubject, staff_id: int, data: StaffUpdate) -> Staff:
    staff = get_staff(session, subject, staff_id)
    changes = data.model_dump(exclude_unset=True)
    if not (staff.id == subject.staff_id and set(changes) <= SELF_SERVICE):
        subject.require_staff_write(staff.role, staff.school_ids)
        subject.require_staff_write(
            changes.get("role") or staff.role,
            changes["school_ids"] if changes.get("school_ids") is not None else staff.school_ids,
        )
    for name in ("name", "email", "role", "ui_language", "active"):
        if name in changes and changes[name] is None:
            raise Invalid(f"'{name}' cannot be empty.")
    if "display_name" in changes:
        changes["display_name"] = (changes["display_name"] or "").strip() or None
    if (
        "email" in changes
        and changes["email"].lower() != staff.email.lower()
        and session.scalar(
            select(Staff.id).where(func.lower(Staff.email) == changes["email"].lower())
        )
    ):
        raise Conflict(f"A staff member with email {changes['email']} already exists.")
    if changes.get("school_ids") is not None:
        wanted = _check_schools(session, subject, changes.pop("school_ids"))
        staff.school_links = [StaffSchool(school_id=s) for s in wanted]
    changes.pop("school_ids", None)
    if changes.get("interprets") is not None:
        staff.language_links = interpreted(changes["interprets"])
    changes.pop("interprets", None)
    # A new password or a deactivation signs the account out of every browser.
    signed_out = "password" in changes or changes.get("active") is False
    if "password" in changes:
        password = changes.pop("password")
        staff.password_hash = hash_password(password) if password else None
    for name, value in changes.items():
        setattr(staff, name, value)
    if signed_out:
        end_sessions(session, staff.id)
    audit.record(
        session,
        subject.actor,
        "staff.update",
        "staff",
        staff.id,
        details={"fields": sorted(data.model_dump(exclude_unset=True))},
    )
    session.flush()
    return staff


# Students ------------------------------------------------------------------------------------


def get_student(session: Session, subject: AuthSubject, student_id: int) -> Student:
    student = session.scalar(readable_students(subject).where(Student.id == student_id))
    if student is None:
        raise NotFound("No such student.")
    return student


def student_filters(
    stmt: Select[Any],
    *,
    school_id: int | None = None,
    section_id: int | None = None,
    grade: str | None = None,
    q: str | None = None,
    active: bool | None = None,
) -> Select[Any]:
    if school_id is not None:
        stmt = stmt.where(Student.school_id == school_id)
    if section_id is not None:
        stmt = stmt.where(
            Student.id.in_(select(Enrollment.student_id).where(Enrollment.section_id == section_id))
        )
    if grade:
        stmt = stmt.where(Student.grade == grade)
    if active is not None:
        stmt = stmt.where(Student.active == active)
    if q:
        stmt = stmt.where(search.matches(Student.search_key, q))
    return stmt.order_by(Student.family_name, Student.given_name, Student.id)


def create_student(session: Session, subject: AuthSubject, data: StudentCreate) -> Student:
    subject.require_role("office", "add students")
    subject.require_school(data.school_id)
    if session.get(School, data.school_id) is None:
        raise NotFound("No such school.")
    _unique_external_id(session, data.school_id, data.external_id)
    student = Student(**data.model_dump())
    session.add(student)
    session.flush()
    audit.record(
        session, subject.actor, "student.create", "student", student.id, school_id=student.school_id
    )
    session.flush()
    return student


def _unique_external_id(
    session: Session, school_id: int, external_id: str, except_id: int | None = None
) -> None:
    existing = session.scalar(
        select(Student.id).where(Student.school_id == school_id, Student.external_id == external_id)
    )
    if existing is not None and existing != except_id:
        raise Conflict(f"Another student of this school already has the id '{external_id}'.")


def update_student(
    session: Session, subject: AuthSubject, student_id: int, data: StudentUpdate
) -> Student:
    student = get_student(session, subject, student_id)
    subject.require_role("office", "change student records")
    changes = data.model_dump(exclude_unset=True)
    for name in ("external_id", "given_name", "family_name", "active"):
        if name in changes and changes[name] is None:
            raise Invalid(f"'{name}' cannot be empty.")
    if "external_id" in changes:
        _unique_external_id(session, student.school_id, changes["external_id"], student.id)
    for name, value in changes.items():
        setattr(student, name, value)
    audit.record(
        session,
        subject.actor,
        "student.update",
        "student",
        student.id,
        school_id=student.school_id,
        details={"fields": sorted(changes)},
    )
    session.flush()
    return student


def delete_student(session: Session, subject: AuthSubject, student_id: int) -> None:
    student = get_student(session, subject, student_id)
    subject.require_role("office", "delete students")
    audit.record(
        session, subject.actor, "student.delete", "student", student.id, school_id=student.school_id
    )
    try:
        with session.begin_nested():
            session.delete(student)
            # A thread about the student keeps it: threads.student_id is the one reference to
            # a student that does not cascade, and the database refuses the delete.
            session.flush()
    except IntegrityError:
        raise Conflict("This student has message history; set active to false instead.") from None
    session.flush()


def family(session: Session, subject: AuthSubject, student_id: int) -> dict[str, Any]:
    student = get_student(session, subject, student_id)
    rows = session.execute(
        select(Guardian, StudentGuardian.relationship)
        .join(StudentGuardian, StudentGuardian.guardian_id == Guardian.id)
        .where(StudentGuardian.student_id == student.id)
        .options(selectinload(Guardian.student_links))
        .order_by(Guardian.family_name, Guardian.given_name, Guardian.id)
    ).all()
    return {
        "student": student,
        "guardians": [{**guardian_read(g), "relationship": rel} for g, rel in rows],
    }


# Guardians -----------------------------------------------------------------------------------


def guardian_read(guardian: Guardian) -> dict[str, Any]:
    return {
        "id": guardian.id,
        "given_name": guardian.given_name,
        "family_name": guardian.family_name,
        "phone": guardian.phone,
        "email": guardian.email,
        "language": guardian.language,
        "language_confirmed": guardian.language_confirmed,
        "channels_confirmed": guardian.channels_confirmed,
        "channels": guardian.channels,
        "active": guardian.active,
        "student_ids": guardian.student_ids,
    }


def get_guardian(session: Session, subject: AuthSubject, guardian_id: int) -> Guardian:
    guardian = session.scalar(readable_guardians(subject).where(Guardian.id == guardian_id))
    if guardian is None:
        raise NotFound("No such guardian.")
    return guardian


def guardian_filters(
    stmt: Select[Any],
    *,
    school_id: int | None = None,
    section_id: int | None = None,
    student_id: int | None = None,
    language: str | None = None,
    q: str | None = None,
    active: bool | None = None,
) -> Select[Any]:
    if school_id is not None:
        stmt = stmt.where(
            Guardian.id.in_(
                select(StudentGuardian.guardian_id)
                .join(Student, Student.id == StudentGuardian.student_id)
                .where(Student.school_id == school_id)
            )
        )
    if section_id is not None:
        stmt = stmt.where(
            Guardian.id.in_(
                select(StudentGuardian.guardian_id)
                .join(Enrollment, Enrollment.student_id == StudentGuardian.student_id)
                .where(Enrollment.section_id == section_id)
            )
        )
    if student_id is not None:
        stmt = stmt.where(
            Guardian.id.in_(
                select(StudentGuardian.guardian_id).where(StudentGuardian.student_id == student_id)
            )
        )
    if language:
        stmt = stmt.where(
            or_(Guardian.language == language, Guardian.language.like(f"{language}-%"))
        )
    if active is not None:
        stmt = stmt.where(Guardian.active == active)
    if q:
        stmt = stmt.where(search.matches(Guardian.search_key, q))
    return stmt.order_by(Guardian.family_name, Guardian.given_name, Guardian.id)


def _readable_student_ids(session: Session, subject: AuthSubject, ids: list[int]) -> list[int]:
    wanted = sorted(set(ids))
    found = set(session.scalars(readable_student_ids(subject).where(Student.id.in_(wanted))))
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFound(f"No such student: {missing[0]}.")
    return wanted


def create_guardian(session: Session, subject: AuthSubject, data: GuardianCreate) -> Guardian:
    subject.require_role("office", "add families")
    if not data.student_ids and not (subject.sees_all_schools and not subject.is_teacher):
        raise Invalid("Give the guardian's student_ids: a family belongs to a student.")
    student_ids = _readable_student_ids(session, subject, data.student_ids)
    guardian = Guardian(
        given_name=data.given_name,
        family_name=data.family_name,
        phone=data.phone,
        email=data.email,
        language=data.language,
        channels=data.channels,
        channels_confirmed="channels" in data.model_fields_set,
        student_links=[
            StudentGuardian(student_id=s, relationship=data.relationship) for s in student_ids
        ],
    )
    session.add(guardian)
    session.flush()
    audit.record(session, subject.actor, "guardian.create", "guardian", guardian.id)
    session.flush()
    return guardian


def update_guardian(
    session: Session, subject: AuthSubject, guardian_id: int, data: GuardianUpdate
) -> Guardian:
    guardian = get_guardian(session, subject, guardian_id)
    # A teacher reads their families but does not edit them: a changed phone or email would
    # redirect the school's texts and notices (README, "Who may do what").
    subject.require_role("office", "change family records")
    changes = data.model_dump(exclude_unset=True)
    for name in ("given_name", "family_name", "language", "channels", "active"):
        if name in changes and changes[name] is None:
            raise Invalid(f"'{name}' cannot be empty.")
    phone = changes.get("phone", guardian.phone)
    email = changes.get("email", guardian.email)
    channels = changes.get("channels", guardian.channels)
    if "sms" in channels and not phone:
        raise Invalid("Channel 'sms' needs a phone number.")
    if "email" in channels and not email:
        raise Invalid("Channel 'email' needs an email address.")
    if "voice" in channels and not phone:
        raise Invalid("Channel 'voice' needs a phone number.")
    for name, value in changes.items():
        setattr(guardian, name, value)
    if "language" in changes:
        guardian.language_confirmed = True  # a person set it: imports must not overwrite it
    if "channels" in changes:
        guardian.channels_confirmed = True  # likewise for the channels
    audit.record(
        session,
        subject.actor,
        "guardian.update",
        "guardian",
        guardian.id,
        details={"fields": sorted(changes)},
    )
    session.flush()
    return guardian


def language_counts(session: Session) -> dict[str, int]:
    """Language tag → how many active guardians read it."""
    rows = session.execute(
        select(Guardian.language, func.count())
        .where(Guardian.active.is_(True))
        .group_by(Guardian.language)
    )
    return {tag: count for tag, count in rows}


def stop_email(session: Session, guardian_id: int, actor: str) -> Guardian | None:
    """The family asked for no more email (one click in a note's email): email leaves its
    channels, and imports leave its channels alone from now on. Texts, if chosen, go on."""
    guardian = session.get(Guardian, guardian_id)
    if guardian is not None and "email" in guardian.channels:
        guardian.channels = [c for c in guardian.channels if c != "email"]
        guardian.channels_confirmed = True
        audit.record(session, actor, "guardian.unsubscribe_email", "guardian", guardian.id)
        session.flush()
    return guardian


def link_student(
    session: Session, subject: AuthSubject, guardian_id: int, student_id: int, relationship: str
) -> Guardian:
    guardian = get_guardian(session, subject, guardian_id)
    _readable_student_ids(session, subject, [student_id])
    subject.require_role("office", "link families to students")
    link = next((s for s in guardian.student_links if s.student_id == student_id), None)
    if link is None:
        guardian.student_links.append(
            StudentGuardian(student_id=student_id, relationship=relationship)
        )
    else:
        link.relationship = relationship
    audit.record(
        session,
        subject.actor,
        "guardian.link",
        "guardian",
        guardian.id,
        details={"student_id": student_id, "relationship": relationship},
    )
    session.flush()
    return guardian


def unlink_student(
    session: Session, subject: AuthSubject, guardian_id: int, student_id: int
) -> Guardian:
    guardian = get_guardian(session, subject, guardian_id)
    _readable_student_ids(session, subject, [student_id])
    subject.require_role("office", "unlink families from students")
    link = next((s for s in guardian.student_links if s.student_id == student_id), None)
    if link is None:
        raise NotFound("This guardian is not linked to that student.")
    guardian.student_links.remove(link)
    audit.record(
        session,
        subject.actor,
        "guardian.unlink",
        "guardian",
        guardian.id,
        details={"student_id": student_id},
    )
    session.flush()
    return guardian
