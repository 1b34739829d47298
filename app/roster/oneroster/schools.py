"""Schools (orgs.csv): matched on sourcedId, or adopted by name the first time; never
deactivated by an import, and only their name is the roster's."""

from collections import defaultdict
from typing import Any

from sqlalchemy import select

from app.roster.bulk import bulk_insert, bulk_update
from app.roster.oneroster.context import ImportContext, bad_status, tidy_name
from app.roster.parse import cell, parse_status
from app.schools.models import School


def apply_schools(ctx: ImportContext) -> None:
    existing = ctx.session.execute(
        select(School.id, School.external_id, School.name, School.default_language)
    ).all()
    by_ext = {r.external_id: r for r in existing if r.external_id}
    by_name: dict[str, list[Any]] = defaultdict(list)
    for r in existing:
        ctx.state.school_language[r.id] = r.default_language
        ctx.state.school_names[r.id] = r.name
        if r.external_id is None:
            by_name[r.name.lower()].append(r)
    ctx.state.schools = {ext: r.id for ext, r in by_ext.items()}
    if not ctx.present("orgs.csv"):
        return
    table = ctx.table("orgs.csv")
    i_sid, i_status = table.col("sourcedId"), table.col("status")
    i_name, i_type = table.col("name"), table.col("type")
    seen: dict[str, int] = {}
    inserts: list[dict[str, Any]] = []
    new_sids: list[tuple[str, int]] = []
    updates: list[dict[str, Any]] = []
    adopted: set[int] = set()
    for line, f in ctx.rows(table, "schools"):
        sid = cell(f, i_sid)
        if ctx.duplicate(seen, sid, "schools", "orgs.csv", line):
            continue
        kind = cell(f, i_type).lower()
        if kind != "school":
            ctx.state.non_school_orgs[sid] = kind or "blank"
            ctx.report.ignore(f"orgs.csv: type {kind or 'blank'}")
            continue
        status = parse_status(cell(f, i_status))
        name = tidy_name(cell(f, i_name), 200)
        if status is None:
            ctx.report.reject("schools", "orgs.csv", line, bad_status(cell(f, i_status)), sid)
            continue
        if not name:
            ctx.report.reject("schools", "orgs.csv", line, "name is empty", sid)
            continue
        row = by_ext.get(sid)
        if status != "active":
            if row is not None:
                ctx.report.warn(
                    "orgs.csv",
                    line,
                    f"school '{row.name}' is marked {status}; imports never deactivate "
                    "schools, so it was kept (its students and sections follow the files)",
                    sid,
                )
                ctx.report.count("schools", "unchanged")
            else:
                ctx.report.ignore(f"orgs.csv: {status} and not in Hearth")
            continue
        if row is None:
            candidates = [c for c in by_name.get(name.lower(), []) if c.id not in adopted]
            if len(candidates) == 1:  # a school created by hand before the first import
                row = candidates[0]
                adopted.add(row.id)
                updates.append({"id": row.id, "external_id": sid, "name": name})
                ctx.report.count("schools", "updated")
            else:
                inserts.append(
                    {
                        "name": name,
                        "external_id": sid,
                        "created_at": ctx.now,
                        "updated_at": ctx.now,
                    }
                )
                new_sids.append((sid, line))
                continue
        elif row.name != name:
            updates.append({"id": row.id, "name": name})
            ctx.report.count("schools", "updated")
        else:
            ctx.report.count("schools", "unchanged")
        ctx.state.schools[sid] = row.id
        ctx.state.school_names[row.id] = name
        ctx.state.scope.add(row.id)
    bulk_update(ctx.session, School, updates)
    new_ids = bulk_insert(ctx.session, School, inserts, returning_ids=True)
    for (sid, line), values, new_id in zip(new_sids, inserts, new_ids, strict=True):
        ctx.state.schools[sid] = new_id
        ctx.state.school_language[new_id] = "en"
        ctx.state.school_names[new_id] = values["name"]
        ctx.state.scope.add(new_id)
        ctx.report.count("schools", "created")
        ctx.report.warn(
            "orgs.csv",
            line,
            f"created school id {new_id}: set its timezone, default language and SMS "
            "sender (hearth schools set-sender)",
            sid,
        )


def school_reason(ctx: ImportContext, sid: str, what: str) -> str:
    if sid in ctx.state.non_school_orgs:
        return f"{what} '{sid}' is an org of type {ctx.state.non_school_orgs[sid]}, not a school"
    if not sid:
        return f"{what} is empty"
    return f"{what} '{sid}' is not a school in orgs.csv"
