"""Schools and their sections (classes), and who may see them."""

from email.utils import parseaddr
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, selectinload

from app.audit import service as audit
from app.auth.service import AuthSubject
from app.core.config import get_settings
from app.core.errors import Conflict, Invalid, NotFound
from app.people.models import Staff, StaffSchool, Student
from app.schools.models import Enrollment, School, Section, SectionTeacher
from app.schools.schemas import SchoolCreate, SchoolUpdate, SectionCreate, SectionUpdate
from app.schools.senders import normalize_sms_pool, normalize_sms_sender


def readable_schools(subject: AuthSubject) -> Select[School]:
    stmt = select(School)
    if subject.school_ids is not None:
        stmt = stmt.where(School.id.in_(subject.school_ids))
    return stmt


def get_school(session: Session, subject: AuthSubject, school_id: int) -> School:
    school = session.scalar(readable_schools(subject).where(School.id == school_id))
    if school is None:
        raise NotFound("No such school.")
    return school


# One school per sender -----------------------------------------------------------------------
#
# A family's text is routed by the number it was sent to (senders.school_for_number), so a
# number, or a Messaging Service, receives for one school only: given to a second school, it
# would take the first school's replies. Only what the school does not have yet is checked, so
# a school that shares one from before this rule still saves its other settings.


def _senders_of(school: School) -> list[str]:
    """What a text to the school may arrive on: its own sender and its pool."""
    return [n for n in [school.sms_sender, *(school.sms_pool or [])] if n]


def _whose(subject: AuthSubject | None, other: School) -> str:
    """The other school's name, for a caller who may see it (the CLI's operator sees all)."""
    return f" ({other.name})" if subject is None or subject.can_see_school(other.id) else ""


def _check_senders(
    session: Session,
    subject: AuthSubject | None,
    school: School | None,
    sender: str | None,
    pool: list[str] | None,
) -> None:
    """Refuses a sender or pool number the school does not have yet and another school has
    (its name said only to a caller who may see it)."""
    own = set(_senders_of(school)) if school is not None else set()
    wanted = [("sms_sender", v) for v in [sender] if v] + [("sms_pool", v) for v in pool or []]
    wanted = [(field, v) for field, v in wanted if v not in own]
    if not wanted:
        return
    others = session.scalars(
        select(School)
        .where(
            School.id != (school.id if school is not None else 0),
            or_(School.sms_sender.is_not(None), School.sms_pool.is_not(None)),
        )
        .order_by(School.id)
    )
    taken: dict[str, School] = {}
    for other in others:
        for value in _senders_of(other):
            taken.setdefault(value, other)
    for field, value in wanted:
        if value in taken:
            raise Conflict(
                f"{field}: {value} already belongs to another school"
                f"{_whose(subject, taken[value])}. A number (or Messaging Service) belongs to "
                "one school only, so that families' replies reach the right school."
            )


def _address(value: str | None) -> str:
    """The address of an email sender (`Office <office@school.org>` or `office@school.org`),
    in one case, for comparing."""
    return parseaddr(value or "")[1].strip().lower()


def _check_email_sender(
    session: Session, subject: AuthSubject, school: School, email_sender: str | None
) -> None:
    """A school's admin may not send as another school: its email sender must not be an
    address another school uses. (A district-wide admin may give several schools one.)"""
    address = _address(email_sender)
    if subject.sees_all_schools or not address:
        return
    if address == _address(school.email_sender):
        return
    others = session.scalars(
        select(School)
        .where(School.id != school.id, School.email_sender.is_not(None))
        .order_by(School.id)
    )
    other = next((o for o in others if _address(o.email_sender) == address), None)
    if other is not None:
        raise Conflict(
            f"email_sender: {address} already belongs to another school{_whose(subject, other)}. "
            "Only a district-wide admin may give two schools one address."
        )


def create_school(session: Session, subject: AuthSubject, data: SchoolCreate) -> School:
    subject.require_district_admin("create schools")
    _check_senders(session, subject, None, data.sms_sender, data.sms_pool)
    values = data.model_dump()
    values["mark_machine_translation"] = values["mark_machine_translation"] is not False
    school = School(**values)
    session.add(school)
    session.flush()
    audit.record(session, subject.actor, "school.create", "school", school.id, school_id=school.id)
    return school


def update_school(
    session: Session, subject: AuthSubject, school_id: int, data: SchoolUpdate
) -> School:
    school = get_school(session, subject, school_id)
    # Settings (sender numbers, quiet hours) are the admin's, as on the school settings page.
    subject.require_role("admin", "change school settings")
    changes = data.model_dump(exclude_unset=True)
    for name in (
        "name",
        "timezone",
        "default_language",
        "interpreter_hours",
        "mark_machine_translation",
        "family_link",
        "mms_images",
    ):
        if name in changes and changes[name] is None:
            raise Invalid(f"'{name}' cannot be empty.")
    if "sms_pool" in changes:
        own = changes.get("sms_sender", school.sms_sender)
        changes["sms_pool"] = [n for n in changes["sms_pool"] or [] if n != own] or None
    _check_senders(session, subject, school, changes.get("sms_sender"), changes.get("sms_pool"))
    if "email_sender" in changes:
        _check_email_sender(session, subject, school, changes["email_sender"])
    for name, value in changes.items():
        setattr(school, name, value)
    audit.record(
        session,
        subject.actor,
        "school.update",
        "school",
        school.id,
        school_id=school.id,
        details={"fields": sorted(changes)},
    )
    return school


def delete_school(session: Session, subject: AuthSubject, school_id: int) -> None:
    school = get_school(session, subject, school_id)
    subject.require_district_admin("delete schools")
    if session.scalar(select(Student.id).where(Student.school_id == school_id).limit(1)):
        raise Invalid("This school still has students; deactivate or move them first.")
    if session.scalar(select(Section.id).where(Section.school_id == school_id).limit(1)):
        raise Invalid("This school still has sections; delete them first.")
    audit.record(session, subject.actor, "school.delete", "school", school.id, school_id=school.id)
    session.delete(school)
    session.flush()  # a refused delete fails here, not at the request's commit


def set_sms_sender(
    session: Session, school: School, sender: str, *, actor: str, pool: list[str] | None = None
) -> str:
    """Sets the number (or Messaging Service) the school's texts are sent from, and with
    `pool` the school's further numbers, by the one sender rule; returns it as stored."""
    region = get_settings().default_region
    try:
        value = normalize_sms_sender(sender, region)
        numbers = normalize_sms_pool(pool, region) if pool is not None else None
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    _check_senders(session, None, school, value, numbers)
    previous = school.sms_sender
    details: dict[str, Any] = {"from": previous, "to": value}
    school.sms_sender = value
    if numbers is not None:
        details |= {"pool_from": school.sms_pool or [], "pool_to": numbers}
        school.sms_pool = [n for n in numbers if n != value] or None
    audit.record(
        session,
        actor,
        "school.set_sender",
        "school",
        school.id,
        school_id=school.id,
        details=details,
    )
    return value


# Sections -----------------------------------------------------------------------------------


def teacher_section_ids(staff_id: int) -> Select[int]:
    return select(SectionTeacher.section_id).where(SectionTeacher.staff_id == staff_id)


def readable_sections(subject: AuthSubject) -> Select[Section]:
    stmt = select(Section).options(
        selectinload(Section.teacher_links), selectinload(Section.enrollments)
    )
    if subject.school_ids is not None:
        stmt = stmt.where(Section.school_id.in_(subject.school_ids))
    if subject.is_teacher:
        stmt = stmt.where(Section.id.in_(teacher_section_ids(subject.staff_id or 0)))
    return stmt


def section_filters(
    stmt: Select[Any], *, school_id: int | None, staff_id: int | None, q: str | None
) -> Select[Any]:
    if school_id is not None:
        stmt = stmt.where(Section.school_id == school_id)
    if staff_id is not None:
        stmt = stmt.where(Section.id.in_(teacher_section_ids(staff_id)))
    if q:
        stmt = stmt.where(Section.name.ilike(f"%{q}%"))
    return stmt.order_by(Section.name, Section.id)


def section_read(section: Section) -> dict[str, Any]:
    return {
        "id": section.id,
        "school_id": section.school_id,
        "name": section.name,
        "active": section.active,
        "teacher_ids": sorted(t.staff_id for t in section.teacher_links),
        "student_ids": sorted(e.student_id for e in section.enrollments),
    }


def get_section(session: Session, subject: AuthSubject, section_id: int) -> Section:
    section = session.scalar(readable_sections(subject).where(Section.id == section_id))
    if section is None:
        raise NotFound("No such section.")
    return section


def _check_teacher(session: Session, school_id: int, staff_id: int) -> None:
    found = session.scalar(
        select(Staff.id)
        .join(StaffSchool, StaffSchool.staff_id == Staff.id)
        .where(Staff.id == staff_id, StaffSchool.school_id == school_id)
    )
    if found is None:
        raise Invalid(f"Staff member {staff_id} does not work at school {school_id}.")


def create_section(session: Session, subject: AuthSubject, data: SectionCreate) -> Section:
    subject.require_role("office", "create sections")
    subject.require_school(data.school_id)
    if session.get(School, data.school_id) is None:
        raise NotFound("No such school.")
    section = Section(school_id=data.school_id, name=data.name)
    for staff_id in sorted(set(data.teacher_ids)):
        _check_teacher(session, data.school_id, staff_id)
        section.teacher_links.append(SectionTeacher(staff_id=staff_id))
    session.add(section)
    session.flush()
    audit.record(
        session, subject.actor, "section.create", "section", section.id, school_id=section.school_id
    )
    return get_section(session, subject, section.id)


def update_section(
    session: Session, subject: AuthSubject, section_id: int, data: SectionUpdate
) -> Section:
    section = get_section(session, subject, section_id)
    subject.require_role("office", "change sections")
    changes = data.model_dump(exclude_unset=True)
    if any(v is None for v in changes.values()):
        raise Invalid("Section fields cannot be set to null.")
    for name, value in changes.items():
        setattr(section, name, value)
    audit.record(
        session,
        subject.actor,
        "section.update",
        "section",
        section.id,
        school_id=section.school_id,
        details={"fields": sorted(changes)},
    )
    return section


def delete_section(session: Session, subject: AuthSubject, section_id: int) -> None:
    section = get_section(session, subject, section_id)
    subject.require_role("office", "delete sections")
    audit.record(
        session, subject.actor, "section.delete", "section", section.id, school_id=section.school_id
    )
    session.delete(section)
    session.flush()  # a refused delete fails here, not at the request's commit


def enroll(session: Session, subject: AuthSubject, section_id: int, student_id: int) -> Section:
    section = get_section(session, subject, section_id)
    subject.require_role("office", "change enrollments")
    student = session.get(Student, student_id)
    if student is None or student.school_id != section.school_id:
        raise Invalid(f"Student {student_id} is not a student of this section's school.")
    if all(e.student_id != student_id for e in section.enrollments):
        section.enrollments.append(Enrollment(student_id=student_id))
        audit.record(
            session,
            subject.actor,
            "section.enroll",
            "section",
            section.id,
            school_id=section.school_id,
            details={"student_id": student_id},
        )
    return section


def unenroll(session: Session, subject: AuthSubject, section_id: int, student_id: int) -> Section:
    section = get_section(session, subject, section_id)
    subject.require_role("office", "change enrollments")
    link = next((e for e in section.enrollments if e.student_id == student_id), None)
    if link is None:
        raise NotFound("That student is not enrolled in this section.")
    section.enrollments.remove(link)
    audit.record(
        session,
        subject.actor,
        "section.unenroll",
        "section",
        section.id,
        school_id=section.school_id,
        details={"student_id": student_id},
    )
    return section


def assign_teacher(
    session: Session, subject: AuthSubject, section_id: int, staff_id: int
) -> Section:
    section = get_section(session, subject, section_id)
    subject.require_role("office", "assign teachers")
    _check_teacher(session, section.school_id, staff_id)
    if all(t.staff_id != staff_id for t in section.teacher_links):
        section.teacher_links.append(SectionTeacher(staff_id=staff_id))
        audit.record(
            session,
            subject.actor,
            "section.assign_teacher",
            "section",
            section.id,
            school_id=section.school_id,
            details={"staff_id": staff_id},
        )
    return section


def unassign_teacher(
    session: Session, subject: AuthSubject, section_id: int, staff_id: int
) -> Section:
    section = get_section(session, subject, section_id)
    subject.require_role("office", "assign teachers")
    link = next((t for t in section.teacher_links if t.staff_id == staff_id), None)
    if link is None:
        raise NotFound("That staff member does not teach this section.")
    section.teacher_links.remove(link)
    audit.record(
        session,
        subject.actor,
        "section.unassign_teacher",
        "section",
        section.id,
        school_id=section.school_id,
        details={"staff_id": staff_id},
    )
    return section
