"""Enrollments (enrollments.csv: students and teachers in sections)."""

from typing import Any

from sqlalchemy import select

from app.roster.bulk import bulk_insert, delete_pairs
from app.roster.oneroster.context import ImportContext, bad_status
from app.roster.oneroster.users import user_reason
from app.roster.parse import cell, ended, parse_status
from app.schools.models import Enrollment, SectionTeacher


def apply_enrollments(ctx: ImportContext) -> None:
    if not ctx.present("enrollments.csv"):
        return
    table = ctx.table("enrollments.csv")
    i_sid, i_status = table.col("sourcedId"), table.col("status")
    i_class, i_user = table.col("classSourcedId"), table.col("userSourcedId")
    i_role, i_end = table.col("role"), table.col("endDate")
    seen: dict[str, int] = {}
    students: set[tuple[int, int]] = set()
    teachers: set[tuple[int, int]] = set()
    drop_students: set[tuple[int, int]] = set()
    drop_teachers: set[tuple[int, int]] = set()
    for line, f in ctx.rows(table, "enrollments"):
        sid = cell(f, i_sid)
        if sid:
            if sid in seen:
                ctx.report.reject(
                    "enrollments",
                    "enrollments.csv",
                    line,
                    f"duplicate sourcedId (first on line {seen[sid]})",
                    sid,
                )
                continue
            seen[sid] = line
        role = cell(f, i_role).lower()
        if role not in ("student", "teacher"):
            ctx.report.ignore(f"enrollments.csv: role {role or 'blank'}")
            continue
        status = parse_status(cell(f, i_status))
        if status is None:
            ctx.report.reject(
                "enrollments", "enrollments.csv", line, bad_status(cell(f, i_status)), sid
            )
            continue
        if status == "active" and ended(cell(f, i_end), ctx.today):
            ctx.report.ignore("enrollments.csv: endDate has passed")
            continue
        class_sid, user_sid = cell(f, i_class), cell(f, i_user)
        section_id = ctx.state.sections.get(class_sid)
        if section_id is None:
            if class_sid in ctx.state.rejected_classes:
                reason = (
                    f"class '{class_sid}' was rejected "
                    f"(classes.csv line {ctx.state.rejected_classes[class_sid]})"
                )
            else:
                reason = f"classSourcedId '{class_sid}' is not in classes.csv"
            ctx.report.reject("enrollments", "enrollments.csv", line, reason, sid)
            continue
        ids = ctx.state.student_ids if role == "student" else ctx.state.staff_ids
        kind_in = ctx.state.students_in if role == "student" else ctx.state.teachers_in
        user_id = ids.get(user_sid)
        user_row = ctx.state.user_rows.get(user_sid)
        if status == "active" and user_row is not None and user_row.status != "active":
            # Leaving (tobedeleted in users.csv): their enrollments are kept as history.
            ctx.report.ignore(f"enrollments.csv: the {role} is marked {user_row.status}")
            continue
        listed_elsewhere = user_sid in ctx.state.user_sids and user_sid not in kind_in
        if user_id is None or (listed_elsewhere and status == "active"):
            reason = user_reason(ctx, user_sid, role)
            ctx.report.reject("enrollments", "enrollments.csv", line, reason, sid)
            continue
        pair = (section_id, user_id)
        if status != "active":
            (drop_students if role == "student" else drop_teachers).add(pair)
        else:
            (students if role == "student" else teachers).add(pair)

    bulk = ctx.mode("enrollments.csv") == "bulk"
    existing = {
        (s, u) for s, u in ctx.session.execute(select(Enrollment.section_id, Enrollment.student_id))
    }
    _sync_pairs(
        ctx,
        Enrollment,
        "student_id",
        existing,
        students,
        drop_students,
        ctx.state.present_students,
        bulk,
    )
    existing = {
        (s, u)
        for s, u in ctx.session.execute(select(SectionTeacher.section_id, SectionTeacher.staff_id))
    }
    _sync_pairs(
        ctx,
        SectionTeacher,
        "staff_id",
        existing,
        teachers,
        drop_teachers,
        ctx.state.present_teachers,
        bulk,
    )
    for section_id, staff_id in teachers:
        ctx.state.teaches[staff_id].add(ctx.state.section_school[section_id])


def _sync_pairs(
    ctx: ImportContext,
    model: Any,
    user_column: str,
    existing: set[tuple[int, int]],
    wanted: set[tuple[int, int]],
    dropped: set[tuple[int, int]],
    present_users: set[int],
    bulk: bool,
) -> None:
    created = wanted - existing
    gone = (dropped - wanted) & existing
    if bulk:
        gone |= {
            (section_id, user_id)
            for section_id, user_id in existing - wanted
            if section_id in ctx.state.present_sections and user_id in present_users
        }
    bulk_insert(ctx.session, model, [{"section_id": s, user_column: u} for s, u in created])
    delete_pairs(ctx.session, model, "section_id", user_column, gone)
    ctx.report.count("enrollments", "created", len(created))
    ctx.report.count("enrollments", "unchanged", len(wanted & existing))
    ctx.report.count("enrollments", "deactivated", len(gone))
