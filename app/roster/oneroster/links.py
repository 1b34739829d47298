"""Links between students and guardians (agentSourcedIds, on the student, the guardian, or
both)."""

from app.people.models import StudentGuardian
from app.roster.bulk import bulk_insert, delete_pairs
from app.roster.oneroster.context import RELATIONSHIP_BY_ROLE, ImportContext, UserRow
from app.roster.oneroster.users import user_reason


def apply_links(ctx: ImportContext) -> None:
    if not ctx.present("users.csv"):
        return
    wanted: dict[tuple[int, int], str] = {}  # (student id, guardian id) -> relationship
    rejected: set[tuple[str, str]] = set()

    def follow(student_sid: str, guardian_sid: str, row: UserRow, other_kind: str) -> None:
        other = guardian_sid if other_kind == "guardian" else student_sid
        if (student_sid, guardian_sid) in rejected:
            return
        other_row = ctx.state.user_rows.get(other)
        if other_row is not None and other_row.status != "active":
            return  # a link to someone leaving is not made
        ids = ctx.state.guardian_ids if other_kind == "guardian" else ctx.state.student_ids
        kind_in = ctx.state.guardians_in if other_kind == "guardian" else ctx.state.students_in
        known = other in kind_in or (other not in ctx.state.user_sids and other in ids)
        if not known:
            if other in ctx.state.ignored_users:
                ctx.report.ignore(f"links: to a user with role {ctx.state.ignored_users[other]}")
                return
            rejected.add((student_sid, guardian_sid))
            ctx.report.reject(
                "links",
                "users.csv",
                row.line,
                f"agentSourcedIds: {user_reason(ctx, other, other_kind)}",
                row.sid,
            )
            return
        student_id, guardian_id = (
            ctx.state.student_ids[student_sid],
            ctx.state.guardian_ids[guardian_sid],
        )
        if (student_id, guardian_id) not in wanted:
            guardian_row = ctx.state.guardians_in.get(guardian_sid)
            roles = guardian_row.roles if guardian_row else {}
            relationship = next(
                (RELATIONSHIP_BY_ROLE[r] for r in ("parent", "guardian", "relative") if r in roles),
                "guardian",
            )
            wanted[(student_id, guardian_id)] = relationship

    for sid, s in ctx.state.students_in.items():
        for agent in s.agents:
            follow(sid, agent, s, "guardian")
    for sid, g in ctx.state.guardians_in.items():
        for agent in g.agents:
            follow(agent, sid, g, "student")

    created = [
        {"student_id": s, "guardian_id": g, "relationship": rel}
        for (s, g), rel in wanted.items()
        if (s, g) not in ctx.state.existing_links
    ]
    ctx.report.count("links", "created", len(created))
    ctx.report.count("links", "unchanged", len(wanted) - len(created))
    bulk_insert(ctx.session, StudentGuardian, created)
    if ctx.mode("users.csv") == "bulk":
        gone = [
            (s, g)
            for s, g in ctx.state.existing_links
            if s in ctx.state.present_students
            and g in ctx.state.present_guardians
            and (s, g) not in wanted
        ]
        delete_pairs(ctx.session, StudentGuardian, "student_id", "guardian_id", gone)
        ctx.report.count("links", "deactivated", len(gone))
