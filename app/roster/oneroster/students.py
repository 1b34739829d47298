"""Students: matched on sourcedId within their school (or adopted by student number)."""

from typing import Any

from sqlalchemy import select

from app.people.models import Student
from app.roster.bulk import bulk_insert, bulk_update
from app.roster.oneroster.context import ImportContext, UserRow
from app.roster.oneroster.users import reject_user


def _student_school(ctx: ImportContext, row: UserRow) -> int | None:
    for org in [*row.roles.get("student", []), *row.orgs]:
        school_id = ctx.state.schools.get(org)
        if school_id is not None:
            return school_id
    return None


def apply_students(ctx: ImportContext) -> None:
    existing = ctx.session.execute(
        select(
            Student.id,
            Student.external_id,
            Student.school_id,
            Student.given_name,
            Student.family_name,
            Student.grade,
            Student.active,
        )
    ).all()
    by_ext: dict[str, Any] = {}
    by_school_ext: dict[tuple[int, str], Any] = {}
    for r in existing:
        by_ext.setdefault(r.external_id, r)
        by_school_ext[(r.school_id, r.external_id)] = r
        ctx.state.student_school[r.id] = r.school_id
        if r.active:
            ctx.state.active_students[r.school_id] += 1
    if ctx.mode("users.csv") == "delta" or not ctx.present("users.csv"):
        ctx.state.student_ids = {ext: r.id for ext, r in by_ext.items()}
    inserts: list[dict[str, Any]] = []
    new_sids: list[str] = []
    updates: list[dict[str, Any]] = []
    claimed: set[int] = set()
    for sid, s in list(ctx.state.students_in.items()):
        school_id = _student_school(ctx, s)
        row = by_school_ext.get((school_id, sid)) if school_id else None
        row = row or by_ext.get(sid)
        if row is None and school_id is not None and s.identifier and s.status == "active":
            # A student added by hand under their student number, before the first import.
            candidate = by_school_ext.get((school_id, s.identifier))
            if (
                candidate is not None
                and candidate.external_id not in ctx.state.user_sids
                and candidate.id not in claimed
            ):
                row = candidate
                updates.append({"id": row.id, "external_id": sid})
        if row is not None:
            claimed.add(row.id)
        if school_id is None:
            if row is None:
                orgs = ", ".join(s.roles.get("student", []) or s.orgs) or "none"
                del ctx.state.students_in[sid]
                reject_user(
                    ctx, s, "students", f"none of its orgs ({orgs}) is a school in orgs.csv"
                )
                continue
            school_id = row.school_id
        if s.status != "active":
            del ctx.state.students_in[sid]
            ctx.inactive_row("students", "users.csv", s.status, row, updates)
            if row is not None:
                ctx.state.student_ids[sid] = row.id
            continue
        values = (school_id, s.given, s.family, s.grade, True)
        if row is None:
            inserts.append(
                {
                    "school_id": school_id,
                    "external_id": sid,
                    "given_name": s.given,
                    "family_name": s.family,
                    "grade": s.grade,
                    "active": True,
                    "created_at": ctx.now,
                    "updated_at": ctx.now,
                }
            )
            new_sids.append(sid)
            continue
        if (row.school_id, row.given_name, row.family_name, row.grade, row.active) != values:
            updates.append(
                {
                    "id": row.id,
                    "school_id": school_id,
                    "given_name": s.given,
                    "family_name": s.family,
                    "grade": s.grade,
                    "active": True,
                }
            )
            ctx.report.count("students", "updated")
        elif row.external_id != sid:
            ctx.report.count("students", "updated")  # adopted
        else:
            ctx.report.count("students", "unchanged")
        ctx.state.student_ids[sid] = row.id
        ctx.state.student_school[row.id] = school_id
        ctx.state.present_students.add(row.id)
    if not ctx.present("orgs.csv"):
        ctx.state.scope |= {ctx.state.student_school[i] for i in ctx.state.present_students}
        ctx.state.scope |= {values["school_id"] for values in inserts}
    if ctx.mode("users.csv") == "bulk" and ctx.present("users.csv"):
        for r in existing:
            if (
                r.active
                and r.school_id in ctx.state.scope
                and r.external_id not in ctx.state.user_sids
                and r.id not in claimed
            ):
                updates.append({"id": r.id, "active": False})
                ctx.report.count("students", "deactivated")
                ctx.state.missing_students[r.school_id] += 1
    bulk_update(ctx.session, Student, updates)
    new_ids = bulk_insert(ctx.session, Student, inserts, returning_ids=True)
    for sid, inserted, new_id in zip(new_sids, inserts, new_ids, strict=True):
        ctx.state.student_school[new_id] = inserted["school_id"]
        ctx.state.student_ids[sid] = new_id
        ctx.state.present_students.add(new_id)
        ctx.report.count("students", "created")
