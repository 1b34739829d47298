"""Plain CSV import of guardians, for schools without a OneRoster export.

One row per guardian-student pair: student_id (the student's id in Hearth, `external_id`),
given_name, family_name, phone, email, language, relationship. The file has no ids for
guardians, so a row is the same person as a guardian already in Hearth when it has the same
name on the same student, or the same phone or email and the same given name — among the
school's own families, and among other schools' too (a sibling's parent) only when the import
was started by someone who sees every school: staff of one school never change, link or reach
another school's families through a file. Blank cells
leave what Hearth has; a language or channels a person confirmed in Hearth are never changed.
The import adds and updates; it never deactivates anyone or removes a link.
"""

from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.contact import normalize_email, normalize_phone
from app.core.db import utcnow
from app.core.errors import NotFound
from app.people.models import Guardian, Student, StudentGuardian
from app.roster.bulk import GUARDIAN_FIELDS, bulk_insert, bulk_update, chunks, default_channels
from app.roster.language import resolve_language
from app.roster.parse import read_guardian_csv
from app.roster.report import Report
from app.schools.models import School

# None: blank, which leaves an existing link's relationship as it is ("guardian" if new).
RELATIONSHIPS: dict[str, str | None] = {
    "": None,
    "mother": "mother",
    "mom": "mother",
    "father": "father",
    "dad": "father",
    "grandparent": "grandparent",
    "grandmother": "grandparent",
    "grandfather": "grandparent",
    "guardian": "guardian",
    "legal guardian": "guardian",
    "parent": "guardian",
    "other": "other",
    "relative": "other",
}
FIELDS = ("given_name", "family_name", "phone", "email", "language", "channels", "active")


@dataclass
class Person:
    id: int | None  # None until inserted
    values: dict[str, Any]
    original: dict[str, Any] | None  # None: new
    language_confirmed: bool = False
    channels_confirmed: bool = False
    students: set[int] = field(default_factory=set)


def import_guardian_csv(
    session: Session,
    data: bytes,
    filename: str,
    school_id: int,
    settings: Settings,
    *,
    across_schools: bool = False,
) -> Report:
    """Applies the file to the session's transaction; the caller commits or rolls back."""
    table, cols = read_guardian_csv(data, filename)
    school = session.get(School, school_id)
    if school is None:
        raise NotFound(f"No school with id {school_id}.")
    report = Report("guardians_csv", entities=("guardians", "links"))
    report.format = "Guardian CSV"
    for warning in table.warnings:
        report.warn(filename, None, warning)
    students = {
        external_id: student_id
        for external_id, student_id in session.execute(
            select(Student.external_id, Student.id).where(Student.school_id == school_id)
        )
    }

    # Parse and validate every row first; then load the guardians they may be.
    rows: list[tuple[int, dict[str, Any]]] = []
    phones: set[str] = set()
    emails: set[str] = set()

    def value(fields: list[str], name: str) -> str:
        index = cols.get(name, -1)
        return " ".join(fields[index].split()) if index >= 0 else ""

    for line, fields in table.rows():
        student_ref = value(fields, "student_id")
        given, family = value(fields, "given_name")[:100], value(fields, "family_name")[:100]
        raw_phone, raw_email = value(fields, "phone"), value(fields, "email")
        raw_language, raw_relationship = value(fields, "language"), value(fields, "relationship")
        problem = None
        phone = email = None
        if not student_ref:
            problem = "student_id is empty"
        elif student_ref not in students:
            problem = f"no student of {school.name} has the id '{student_ref}'"
        elif not given or not family:
            problem = "given_name and family_name are both needed"
        elif raw_relationship.lower() not in RELATIONSHIPS:
            problem = (
                f"relationship '{raw_relationship}' is not one of mother, father, grandparent, "
                "guardian, other"
            )
        else:
            try:
                phone = normalize_phone(raw_phone, settings.default_region) if raw_phone else None
                email = normalize_email(raw_email) if raw_email else None
            except ValueError as exc:
                problem = str(exc)
        if problem:
            report.reject("guardians", filename, line, problem)
            continue
        language = resolve_language(raw_language) if raw_language else None
        if raw_language and language is None:
            report.warn(filename, line, f"language '{raw_language}' is not one Hearth knows")
        if phone:
            phones.add(phone)
        if email:
            emails.add(email.lower())
        rows.append(
            (
                line,
                {
                    "student_id": students[student_ref],
                    "given_name": given,
                    "family_name": family,
                    "phone": phone,
                    "email": email,
                    "language": language,
                    "relationship": RELATIONSHIPS[raw_relationship.lower()],
                },
            )
        )
    for line, reason in table.bad_rows:
        report.reject("guardians", filename, line, reason)
    report.files[filename] = {"mode": "upsert", "rows": len(rows) + report.rejected_total}

    people, links = _load(session, school_id, phones, emails, across_schools)
    by_name: dict[tuple[int, str, str], Person] = {}
    by_phone: dict[tuple[str, str], Person] = {}
    by_email: dict[tuple[str, str], Person] = {}

    def index(person: Person) -> None:
        given = person.values["given_name"].casefold()
        for student_id in person.students:
            by_name[(student_id, given, person.values["family_name"].casefold())] = person
        if person.values["phone"]:
            by_phone[(person.values["phone"], given)] = person
        if person.values["email"]:
            by_email[(person.values["email"].lower(), given)] = person

    for known in people.values():
        index(known)

    new_people: list[Person] = []
    matched: set[int] = set()  # existing guardians the file names
    new_links: dict[tuple[int, int], tuple[Person, str]] = {}  # (student, id(person))
    changed_links: list[dict[str, Any]] = []
    seen_links: set[tuple[int, int]] = set()
    for line, row in rows:
        student_id, given = row["student_id"], row["given_name"].casefold()
        person = (
            by_name.get((student_id, given, row["family_name"].casefold()))
            or (row["phone"] and by_phone.get((row["phone"], given)))
            or (row["email"] and by_email.get((row["email"].lower(), given)))
            or None
        )
        if person is None:
            person = Person(
                id=None,
                values={
                    "given_name": row["given_name"],
                    "family_name": row["family_name"],
                    "phone": row["phone"],
                    "email": row["email"],
                    "language": row["language"] or school.default_language,
                    "channels": [],
                    "active": True,
                },
                original=None,
            )
            new_people.append(person)
        else:
            if person.id is not None:
                matched.add(person.id)
            values = person.values
            values.update(given_name=row["given_name"], family_name=row["family_name"])
            values["active"] = True
            for name in ("phone", "email"):
                if row[name]:
                    values[name] = row[name]
            if row["language"] and not person.language_confirmed:
                values["language"] = row["language"]
        if not person.channels_confirmed:
            person.values["channels"] = default_channels(
                person.values["phone"], person.values["email"]
            )
        if not person.values["phone"] and not person.values["email"]:
            report.warn(filename, line, "no phone or email: the guardian cannot be reached")
        person.students.add(student_id)
        index(person)
        link_key = (student_id, id(person))
        if link_key in seen_links:
            continue
        seen_links.add(link_key)
        relationship = row["relationship"]
        existing = links.get((student_id, person.id)) if person.id is not None else None
        if existing is None:
            new_links[link_key] = (person, relationship or "guardian")
        elif relationship and relationship != existing:
            changed_links.append(
                {"b_student": student_id, "b_guardian": person.id, "relationship": relationship}
            )
            report.count("links", "updated")
        else:
            report.count("links", "unchanged")

    _write(session, people, matched, new_people, new_links, changed_links, report)
    return report


def _load(
    session: Session, school_id: int, phones: set[str], emails: set[str], across_schools: bool
) -> tuple[dict[int, Person], dict[tuple[int, int], str]]:
    """The guardians the rows may be: this school's families, and with `across_schools`
    anyone sharing a phone or email with a row (a sibling at another school)."""
    columns = GUARDIAN_FIELDS
    school_guardians = (
        select(StudentGuardian.guardian_id)
        .join(Student, Student.id == StudentGuardian.student_id)
        .where(Student.school_id == school_id)
    )
    found = list(session.execute(select(*columns).where(Guardian.id.in_(school_guardians))))
    if not across_schools:
        phones = emails = set()
    for chunk in chunks(sorted(phones)):
        found += session.execute(select(*columns).where(Guardian.phone.in_(chunk))).all()
    for chunk in chunks(sorted(emails)):
        found += session.execute(
            select(*columns).where(func.lower(Guardian.email).in_(chunk))
        ).all()
    people: dict[int, Person] = {}
    for r in found:
        if r.id in people:
            continue
        values = {name: getattr(r, name) for name in FIELDS}
        people[r.id] = Person(
            id=r.id,
            values=values,
            original=dict(values, channels=list(r.channels)),
            language_confirmed=r.language_confirmed,
            channels_confirmed=r.channels_confirmed,
        )
    links: dict[tuple[int, int], str] = {}
    for ids in chunks(list(people)):
        for student_id, guardian_id, relationship in session.execute(
            select(
                StudentGuardian.student_id,
                StudentGuardian.guardian_id,
                StudentGuardian.relationship,
            ).where(StudentGuardian.guardian_id.in_(ids))
        ):
            links[(student_id, guardian_id)] = relationship
            people[guardian_id].students.add(student_id)
    return people, links


def _write(
    session: Session,
    people: dict[int, Person],
    matched: set[int],
    new_people: list[Person],
    new_links: dict[tuple[int, int], tuple[Person, str]],
    changed_links: list[dict[str, Any]],
    report: Report,
) -> None:
    updates = [
        {"id": guardian_id, **people[guardian_id].values}
        for guardian_id in sorted(matched)
        if people[guardian_id].values != people[guardian_id].original
    ]
    bulk_update(session, Guardian, updates)
    report.count("guardians", "updated", len(updates))
    report.count("guardians", "unchanged", len(matched) - len(updates))
    if new_people:
        now = utcnow()
        rows = [
            {
                **p.values,
                "language_confirmed": False,  # assumed or imported: a person may still correct it
                "channels_confirmed": False,
                "created_at": now,
                "updated_at": now,
            }
            for p in new_people
        ]
        new_ids = bulk_insert(session, Guardian, rows, returning_ids=True)
        for person, new_id in zip(new_people, new_ids, strict=True):
            person.id = new_id
        report.count("guardians", "created", len(new_people))
    if new_links:
        bulk_insert(
            session,
            StudentGuardian,
            [
                {"student_id": student_id, "guardian_id": person.id, "relationship": rel}
                for (student_id, _), (person, rel) in new_links.items()
            ],
        )
        report.count("links", "created", len(new_links))
    if changed_links:
        table = cast(Table, StudentGuardian.__table__)  # (typed as any FromClause)
        session.execute(
            table.update()
            .where(
                table.c.student_id == bindparam("b_student"),
                table.c.guardian_id == bindparam("b_guardian"),
            )
            .values(relationship=bindparam("relationship")),
            changed_links,
        )
