"""Teachers: staff accounts (an existing account with the same email is adopted; its role
is never changed), and their schools: their orgs and the schools of the sections they teach."""

from typing import Any

from sqlalchemy import select

from app.people.models import Staff, StaffSchool
from app.roster.bulk import bulk_insert, bulk_update, delete_pairs
from app.roster.oneroster.context import ImportContext, tidy_name
from app.roster.oneroster.users import reject_user


def apply_teachers(ctx: ImportContext) -> None:
    existing = ctx.session.execute(
        select(Staff.id, Staff.external_id, Staff.name, Staff.email, Staff.role, Staff.active)
    ).all()
    by_ext = {r.external_id: r for r in existing if r.external_id}
    by_email = {r.email.lower(): r for r in existing}
    for staff_id, school_id in ctx.session.execute(
        select(StaffSchool.staff_id, StaffSchool.school_id)
    ):
        ctx.state.teacher_schools[staff_id].add(school_id)
    if ctx.mode("users.csv") == "delta" or not ctx.present("users.csv"):
        ctx.state.staff_ids = {ext: r.id for ext, r in by_ext.items()}
    emails: dict[str, int] = {}
    inserts: list[dict[str, Any]] = []
    new_sids: list[str] = []
    updates: list[dict[str, Any]] = []
    adopted: set[int] = set()
    for sid, t in list(ctx.state.teachers_in.items()):
        email_key = t.teacher_email.lower()
        name = tidy_name(f"{t.given} {t.family}", 200)
        if email_key in emails:
            del ctx.state.teachers_in[sid]
            reject_user(
                ctx,
                t,
                "teachers",
                f"email {t.teacher_email} is also the teacher's on line {emails[email_key]}",
            )
            continue
        emails[email_key] = t.line
        row = by_ext.get(sid)
        other = by_email.get(email_key)
        clash = other is not None and (row is None or other.id != row.id)
        if other is not None and clash and t.status == "active":  # (leaving needs no email)
            if row is None and other.external_id is None and other.id not in adopted:
                row = other  # an account made by hand before the first import
                adopted.add(row.id)
                updates.append({"id": row.id, "external_id": sid})
            else:
                del ctx.state.teachers_in[sid]
                reject_user(
                    ctx,
                    t,
                    "teachers",
                    f"email {t.teacher_email} belongs to another Hearth staff member "
                    f"(id {other.id})",
                )
                continue
        if t.status != "active":
            del ctx.state.teachers_in[sid]
            ctx.inactive_row("teachers", "users.csv", t.status, row, updates)
            if row is not None:
                ctx.state.staff_ids[sid] = row.id
            continue
        if row is None:
            inserts.append(
                {
                    "name": name,
                    "email": t.teacher_email,
                    "role": "teacher",
                    "ui_language": "en",
                    "active": True,
                    "external_id": sid,
                    "created_at": ctx.now,
                    "updated_at": ctx.now,
                }
            )
            new_sids.append(sid)
            continue
        if (row.name, row.email, row.active) != (name, t.teacher_email, True):
            updates.append({"id": row.id, "name": name, "email": t.teacher_email, "active": True})
            ctx.state.teacher_outcome[row.id] = "updated"
        elif row.id in adopted:
            ctx.state.teacher_outcome[row.id] = "updated"
        else:
            ctx.state.teacher_outcome[row.id] = "unchanged"
        ctx.state.staff_ids[sid] = row.id
        ctx.state.present_teachers.add(row.id)
    if ctx.mode("users.csv") == "bulk" and ctx.present("users.csv"):
        for r in existing:
            schools = ctx.state.teacher_schools.get(r.id, set())
            if (
                r.external_id
                and r.role == "teacher"
                and r.active
                and r.external_id not in ctx.state.user_sids
                and r.id not in adopted
                and (not schools or schools & ctx.state.scope)
            ):
                updates.append({"id": r.id, "active": False})
                ctx.report.count("teachers", "deactivated")
    bulk_update(ctx.session, Staff, updates)
    for sid, new_id in zip(
        new_sids, bulk_insert(ctx.session, Staff, inserts, returning_ids=True), strict=True
    ):
        ctx.state.staff_ids[sid] = new_id
        ctx.state.present_teachers.add(new_id)
        ctx.state.teacher_outcome[new_id] = "created"


def apply_teacher_schools(ctx: ImportContext) -> None:
    added: list[dict[str, int]] = []
    removed: list[tuple[int, int]] = []
    bulk = ctx.mode("users.csv") == "bulk"
    for sid, t in ctx.state.teachers_in.items():
        staff_id = ctx.state.staff_ids.get(sid)
        if staff_id is None or staff_id not in ctx.state.present_teachers:
            continue
        wanted = {
            ctx.state.schools[o]
            for o in [*t.roles.get("teacher", []), *t.orgs]
            if o in ctx.state.schools
        }
        wanted |= ctx.state.teaches.get(staff_id, set())
        current = ctx.state.teacher_schools.get(staff_id, set())
        new = wanted - current
        gone = {s for s in current - wanted if s in ctx.state.scope} if bulk else set()
        added += [{"staff_id": staff_id, "school_id": s} for s in new]
        removed += [(staff_id, s) for s in gone]
        if (new or gone) and ctx.state.teacher_outcome.get(staff_id) == "unchanged":
            ctx.state.teacher_outcome[staff_id] = "updated"
    bulk_insert(ctx.session, StaffSchool, added)
    delete_pairs(ctx.session, StaffSchool, "staff_id", "school_id", removed)
    for outcome in ctx.state.teacher_outcome.values():
        ctx.report.count("teachers", outcome)
