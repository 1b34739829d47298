"""Sections (classes.csv, with courses.csv and academicSessions.csv as far as needed)."""

from typing import Any

from sqlalchemy import select

from app.roster.bulk import bulk_insert, bulk_update
from app.roster.oneroster.context import ImportContext, bad_status, tidy_name
from app.roster.oneroster.schools import school_reason
from app.roster.parse import cell, parse_status, split_list
from app.schools.models import Section


def apply_sections(ctx: ImportContext) -> None:
    existing = ctx.session.execute(
        select(
            Section.id, Section.external_id, Section.school_id, Section.name, Section.active
        ).where(Section.external_id.is_not(None))
    ).all()
    by_ext = {r.external_id: r for r in existing}
    for r in existing:
        ctx.state.section_school[r.id] = r.school_id
    if not ctx.present("classes.csv") or ctx.mode("classes.csv") == "delta":
        ctx.state.sections = {ext: r.id for ext, r in by_ext.items()}
    if not ctx.present("classes.csv"):
        return
    courses: dict[str, str] = {}
    if ctx.present("courses.csv"):
        courses_table = ctx.table("courses.csv")
        i_csid, i_ctitle = courses_table.col("sourcedId"), courses_table.col("title")
        courses = {cell(f, i_csid): cell(f, i_ctitle) for _, f in courses_table.rows()}
    terms: set[str] | None = None
    if ctx.present("academicSessions.csv"):
        sessions_table = ctx.table("academicSessions.csv")
        i_tsid = sessions_table.col("sourcedId")
        terms = {cell(f, i_tsid) for _, f in sessions_table.rows()}

    table = ctx.table("classes.csv")
    i_sid, i_status, i_title = table.col("sourcedId"), table.col("status"), table.col("title")
    i_school, i_course = table.col("schoolSourcedId"), table.col("courseSourcedId")
    i_code, i_terms = table.col("classCode"), table.col("termSourcedIds")
    seen: dict[str, int] = {}
    inserts: list[dict[str, Any]] = []
    new_sids: list[str] = []
    updates: list[dict[str, Any]] = []
    for line, f in ctx.rows(table, "sections"):
        sid = cell(f, i_sid)
        if ctx.duplicate(seen, sid, "sections", "classes.csv", line):
            if sid:
                ctx.state.rejected_classes.setdefault(sid, line)
            continue
        status = parse_status(cell(f, i_status))
        school_sid = cell(f, i_school)
        school_id = ctx.state.schools.get(school_sid)
        course_sid = cell(f, i_course)
        course_title = courses.get(course_sid, "")
        name = tidy_name(cell(f, i_title) or course_title or cell(f, i_code), 200)
        problem = None
        if status is None:
            problem = bad_status(cell(f, i_status))
        elif school_id is None:
            problem = school_reason(ctx, school_sid, "schoolSourcedId")
        elif not name:
            problem = "title is empty (and no course title or classCode to name it by)"
        if problem:
            ctx.state.rejected_classes[sid] = line
            ctx.report.reject("sections", "classes.csv", line, problem, sid)
            continue
        assert status is not None and school_id is not None  # (a problem otherwise)
        if courses and course_sid and course_sid not in courses:
            ctx.report.warn(
                "classes.csv",
                line,
                f"courseSourcedId '{course_sid}' is not in courses.csv",
                sid,
            )
        if terms is not None:
            unknown = [t for t in split_list(cell(f, i_terms)) if t not in terms]
            if unknown:
                ctx.report.warn(
                    "classes.csv",
                    line,
                    f"termSourcedIds '{unknown[0]}' is not in academicSessions.csv",
                    sid,
                )
        row = by_ext.get(sid)
        if status != "active":
            ctx.inactive_row("sections", "classes.csv", status, row, updates)
            if row is not None:
                ctx.state.sections[sid] = row.id
            continue
        if row is None:
            inserts.append(
                {
                    "school_id": school_id,
                    "name": name,
                    "external_id": sid,
                    "active": True,
                    "created_at": ctx.now,
                }
            )
            new_sids.append(sid)
            continue
        if (row.school_id, row.name, row.active) != (school_id, name, True):
            updates.append({"id": row.id, "school_id": school_id, "name": name, "active": True})
            ctx.report.count("sections", "updated")
        else:
            ctx.report.count("sections", "unchanged")
        ctx.state.sections[sid] = row.id
        ctx.state.section_school[row.id] = school_id
        ctx.state.present_sections.add(row.id)
    new_ids = bulk_insert(ctx.session, Section, inserts, returning_ids=True)
    for sid, values, new_id in zip(new_sids, inserts, new_ids, strict=True):
        ctx.state.section_school[new_id] = values["school_id"]
        ctx.state.sections[sid] = new_id
        ctx.state.present_sections.add(new_id)
        ctx.report.count("sections", "created")
    if not ctx.present("orgs.csv"):
        ctx.state.scope |= {ctx.state.section_school[i] for i in ctx.state.present_sections}
    if ctx.mode("classes.csv") == "bulk":
        for r in existing:
            if r.active and r.school_id in ctx.state.scope and r.external_id not in seen:
                updates.append({"id": r.id, "active": False})
                ctx.report.count("sections", "deactivated")
    bulk_update(ctx.session, Section, updates)
