"""Guardians: names, phone, email, active; language only while nobody confirmed it in
Hearth, channels only while nobody chose them."""

from collections import defaultdict
from typing import Any

from sqlalchemy import select

from app.people.models import Guardian, StudentGuardian
from app.roster.bulk import GUARDIAN_FIELDS, bulk_insert, bulk_update, default_channels
from app.roster.language import resolve_language
from app.roster.oneroster.context import ImportContext, UserRow


def _guardian_students(ctx: ImportContext) -> dict[str, list[str]]:
    """Guardian sourcedId -> student sourcedIds, from either side's agentSourcedIds."""
    students: dict[str, list[str]] = defaultdict(list)
    for sid, s in ctx.state.students_in.items():
        for agent in s.agents:
            students[agent].append(sid)
    for sid, g in ctx.state.guardians_in.items():
        for agent in g.agents:
            if agent not in students[sid]:
                students[sid].append(agent)
    return students


def _language(ctx: ImportContext, g: UserRow, student_sids: list[str]) -> str | None:
    if g.language:
        language = resolve_language(g.language)
        if language:
            return language
        ctx.report.warn(
            "users.csv",
            g.line,
            f"language '{g.language}' is not one Hearth knows; the guardian's language "
            "was left as it was",
            g.sid,
        )
    for sid in student_sids:  # SIS exports often carry the home language on the student
        student = ctx.state.students_in.get(sid) or ctx.state.user_rows.get(sid)
        if student is not None and student.language:
            language = resolve_language(student.language)
            if language:
                return language
    return None


def _default_language(ctx: ImportContext, g: UserRow, student_sids: list[str]) -> str:
    for sid in student_sids:
        student_id = ctx.state.student_ids.get(sid)
        if student_id is not None:
            return ctx.state.school_language.get(ctx.state.student_school[student_id], "en")
    for org in g.orgs:
        if org in ctx.state.schools:
            return ctx.state.school_language.get(ctx.state.schools[org], "en")
    return "en"


def apply_guardians(ctx: ImportContext) -> None:
    existing = ctx.session.execute(select(Guardian.external_id, *GUARDIAN_FIELDS)).all()
    by_ext = {r.external_id: r for r in existing if r.external_id}
    by_id = {r.id: r for r in existing}
    links = ctx.session.execute(
        select(StudentGuardian.student_id, StudentGuardian.guardian_id)
    ).all()
    ctx.state.existing_links = {(s, g) for s, g in links}
    guardian_links: dict[int, list[int]] = defaultdict(list)
    hand_made: dict[int, list[Any]] = defaultdict(list)  # student id -> guardians w/o sid
    for student_id, guardian_id in links:
        guardian_links[guardian_id].append(student_id)
        if by_id[guardian_id].external_id is None:
            hand_made[student_id].append(by_id[guardian_id])
    if ctx.mode("users.csv") == "delta" or not ctx.present("users.csv"):
        ctx.state.guardian_ids = {ext: r.id for ext, r in by_ext.items()}
    student_sids_of = _guardian_students(ctx)
    inserts: list[dict[str, Any]] = []
    new_sids: list[str] = []
    updates: list[dict[str, Any]] = []
    adopted: set[int] = set()
    for sid, g in list(ctx.state.guardians_in.items()):
        student_sids = student_sids_of.get(sid, [])
        language = _language(ctx, g, student_sids)
        phone, email = g.guardian_phone, g.guardian_email
        row = by_ext.get(sid)
        if row is None and g.status == "active":
            # A guardian added by hand (or by a plain CSV import) for the same student,
            # with the same phone or email, is this person: adopt rather than duplicate.
            for student_sid in student_sids:
                known_id = ctx.state.student_ids.get(student_sid)
                for candidate in hand_made.get(known_id, []) if known_id else []:
                    if candidate.id not in adopted and (
                        (phone and candidate.phone == phone)
                        or (email and candidate.email and candidate.email.lower() == email.lower())
                    ):
                        row = candidate
                        break
                if row is not None:
                    adopted.add(row.id)
                    break
        if g.status != "active":
            del ctx.state.guardians_in[sid]
            ctx.inactive_row("guardians", "users.csv", g.status, row, updates)
            if row is not None:
                ctx.state.guardian_ids[sid] = row.id
            continue
        if not phone and not email:
            ctx.report.warn(
                "users.csv", g.line, "no phone or email: the guardian cannot be reached", sid
            )
        if row is None:
            inserts.append(
                {
                    "given_name": g.given,
                    "family_name": g.family,
                    "phone": phone,
                    "email": email,
                    "language": language or _default_language(ctx, g, student_sids),
                    "language_confirmed": False,
                    "channels": default_channels(phone, email),
                    "channels_confirmed": False,
                    "active": True,
                    "external_id": sid,
                    "created_at": ctx.now,
                    "updated_at": ctx.now,
                }
            )
            new_sids.append(sid)
            continue
        new_language = row.language if row.language_confirmed or not language else language
        channels = row.channels if row.channels_confirmed else default_channels(phone, email)
        current = (row.given_name, row.family_name, row.phone, row.email, row.language)
        wanted = (g.given, g.family, phone, email, new_language)
        if current != wanted or row.channels != channels or not row.active or row.id in adopted:
            change: dict[str, Any] = {
                "id": row.id,
                "given_name": g.given,
                "family_name": g.family,
                "phone": phone,
                "email": email,
                "language": new_language,
                "channels": channels,
                "active": True,
            }
            if row.id in adopted:
                change["external_id"] = sid
            updates.append(change)
            ctx.report.count("guardians", "updated")
        else:
            ctx.report.count("guardians", "unchanged")
        ctx.state.guardian_ids[sid] = row.id
        ctx.state.present_guardians.add(row.id)
    if ctx.mode("users.csv") == "bulk" and ctx.present("users.csv"):
        for r in existing:
            if not (r.external_id and r.active):
                continue
            students = guardian_links.get(r.id, [])
            if not students or any(
                ctx.state.student_school.get(s) in ctx.state.scope for s in students
            ):
                ctx.state.active_roster_guardians += 1
                if r.external_id not in ctx.state.user_sids and r.id not in adopted:
                    updates.append({"id": r.id, "active": False})
                    ctx.report.count("guardians", "deactivated")
                    ctx.state.missing_guardians += 1
    bulk_update(ctx.session, Guardian, updates)
    for sid, new_id in zip(
        new_sids, bulk_insert(ctx.session, Guardian, inserts, returning_ids=True), strict=True
    ):
        ctx.state.guardian_ids[sid] = new_id
        ctx.state.present_guardians.add(new_id)
        ctx.report.count("guardians", "created")
