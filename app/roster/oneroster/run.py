"""The steps of a OneRoster import, in the order their references need, and the guard
against a truncated export at the end."""

from app.roster.oneroster.context import MIN_GUARDED, ImportContext, RosterRefused
from app.roster.oneroster.enrollments import apply_enrollments
from app.roster.oneroster.guardians import apply_guardians
from app.roster.oneroster.links import apply_links
from app.roster.oneroster.schools import apply_schools
from app.roster.oneroster.sections import apply_sections
from app.roster.oneroster.students import apply_students
from app.roster.oneroster.teachers import apply_teacher_schools, apply_teachers
from app.roster.oneroster.users import read_users
from app.roster.report import Report

FILES = ("orgs.csv", "classes.csv", "users.csv", "roles.csv", "enrollments.csv")


def run(ctx: ImportContext) -> Report:
    ctx.report.format = f"OneRoster {ctx.manifest.version} CSV"
    for name in FILES:
        if ctx.present(name):
            ctx.report.files[name] = {"mode": ctx.mode(name), "rows": 0}
    apply_schools(ctx)
    apply_sections(ctx)
    read_users(ctx)
    apply_students(ctx)
    apply_teachers(ctx)
    apply_guardians(ctx)
    apply_links(ctx)
    apply_enrollments(ctx)
    apply_teacher_schools(ctx)
    guard_mass_deactivation(ctx)
    return ctx.report


def guard_mass_deactivation(ctx: ImportContext) -> None:
    if ctx.force:
        return
    share = ctx.settings.roster_max_deactivate_share
    for school_id, gone in sorted(ctx.state.missing_students.items()):
        active = ctx.state.active_students.get(school_id, 0)
        if active >= MIN_GUARDED and gone > share * active:
            name = ctx.state.school_names.get(school_id, f"school {school_id}")
            raise RosterRefused(
                f"This import would deactivate {gone} of the {active} active students of "
                f"{name} ({gone / active:.0%}). A partial export from the SIS looks like "
                "this, so nothing was saved. If it is right, import again with --force "
                "(API: force=true)."
            )
    active, gone = ctx.state.active_roster_guardians, ctx.state.missing_guardians
    if active >= MIN_GUARDED and gone > share * active:
        raise RosterRefused(
            f"This import would deactivate {gone} of the {active} "
            f"active guardians ({gone / active:.0%}). A partial export "
            "from the SIS looks like this, so nothing was saved. If it is right, import "
            "again with --force (API: force=true)."
        )
