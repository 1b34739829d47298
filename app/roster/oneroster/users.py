"""Users (users.csv, roles.csv): read once, validated per kind (student, teacher,
guardian); the steps after this one apply them."""

from collections import defaultdict

from sqlalchemy import select

from app.core.config import Settings
from app.core.contact import normalize_email, normalize_phone
from app.people.models import Guardian, Staff, Student
from app.roster.oneroster.context import ImportContext, UserRow, bad_status, tidy_name
from app.roster.parse import cell, parse_status, split_list


def _read_roles(ctx: ImportContext) -> dict[str, dict[str, list[str]]]:
    """roles.csv (OneRoster 1.2): user sourcedId -> role -> orgs, primary roles first."""
    roles: dict[str, dict[str, list[str]]] = defaultdict(dict)
    if not ctx.present("roles.csv"):
        return roles
    table = ctx.table("roles.csv")
    i_user, i_role, i_org = (
        table.col("userSourcedId"),
        table.col("role"),
        table.col("orgSourcedId"),
    )
    i_status, i_type = table.col("status"), table.col("roleType")
    count = 0
    for line, f in table.rows():
        count += 1
        user, role = cell(f, i_user), cell(f, i_role).lower()
        status = parse_status(cell(f, i_status))
        if not user or not role:
            ctx.report.warn("roles.csv", line, "userSourcedId or role is empty; row skipped")
            continue
        if status is None:
            ctx.report.warn("roles.csv", line, bad_status(cell(f, i_status)) + "; row skipped")
            continue
        if status != "active":
            continue
        orgs = roles[user].setdefault(role, [])
        org = cell(f, i_org)
        if org and org not in orgs:
            if cell(f, i_type).lower() == "primary":
                orgs.insert(0, org)
            else:
                orgs.append(org)
    for line, reason in table.bad_rows:
        ctx.report.warn("roles.csv", line, reason + "; row skipped")
    ctx.report.files["roles.csv"]["rows"] = count + len(table.bad_rows)
    return roles


def read_users(ctx: ImportContext) -> None:
    if not ctx.present("users.csv"):
        return
    roles_csv = _read_roles(ctx)
    table = ctx.table("users.csv")
    col = table.col
    i_sid, i_status = col("sourcedId"), col("status")
    i_given, i_family = col("givenName"), col("familyName")
    i_pgiven, i_pfamily = col("preferredGivenName"), col("preferredFamilyName")
    i_ident, i_email, i_sms, i_phone = col("identifier"), col("email"), col("sms"), col("phone")
    i_agents, i_grades, i_orgs = col("agentSourcedIds"), col("grades"), col("orgSourcedIds")
    i_role, i_primary = col("role"), col("primaryOrgSourcedId")
    i_language = col(ctx.settings.roster_language_column)
    existing_kinds = _existing_kinds(ctx) if ctx.mode("users.csv") == "delta" else {}
    region = ctx.settings.default_region
    phones: dict[str, str | None] = {}  # raw -> E.164 (None: invalid); families share numbers
    seen: dict[str, int] = {}
    for line, f in ctx.rows(table, "users"):
        sid = cell(f, i_sid)
        roles: dict[str, list[str]] = {}
        orgs = split_list(cell(f, i_orgs))
        primary = cell(f, i_primary)
        if primary:
            orgs = (primary, *(o for o in orgs if o != primary))
        role = cell(f, i_role).lower()
        if role:
            roles[role] = list(orgs)
        for r, r_orgs in roles_csv.get(sid, {}).items():
            roles.setdefault(r, [])
            roles[r] = r_orgs + [o for o in roles[r] if o not in r_orgs]
        kinds = user_kinds(ctx, roles)
        if not roles and sid in existing_kinds:
            kinds = existing_kinds[sid]
        entity = kinds[0] if kinds else "users"
        if ctx.duplicate(seen, sid, entity, "users.csv", line):
            continue
        ctx.state.user_sids.add(sid)
        if not kinds:
            if roles:
                ctx.state.ignored_users[sid] = ", ".join(sorted(roles))
                for r in roles:
                    ctx.report.ignore(_ignored_role(r, ctx.settings))
            else:
                ctx.report.reject(
                    "users",
                    "users.csv",
                    line,
                    "no role: neither users.csv nor roles.csv gives one",
                    sid,
                )
                ctx.state.rejected_users[sid] = (line, "users")
            continue
        status = parse_status(cell(f, i_status))
        given = tidy_name(cell(f, i_pgiven) or cell(f, i_given))
        family = tidy_name(cell(f, i_pfamily) or cell(f, i_family))
        grades = split_list(cell(f, i_grades))
        row = UserRow(
            line=line,
            sid=sid,
            status=status or "active",
            given=given,
            family=family,
            identifier=cell(f, i_ident),
            email=cell(f, i_email),
            sms=cell(f, i_sms),
            phone=cell(f, i_phone),
            agents=split_list(cell(f, i_agents)),
            grade=grades[0][:16] if grades else None,
            orgs=orgs,
            language=cell(f, i_language),
            roles=roles,
        )
        ctx.state.user_rows[sid] = row
        problem = None
        if status is None:
            problem = bad_status(cell(f, i_status))
        elif not given:
            problem = "givenName is empty"
        elif not family:
            problem = "familyName is empty"
        if problem:
            for kind in kinds:
                reject_user(ctx, row, kind, problem)
            continue
        for kind in kinds:
            problem = _validate(ctx, row, kind, region, phones)
            if problem:
                reject_user(ctx, row, kind, problem)
            elif kind == "students":
                ctx.state.students_in[sid] = row
            elif kind == "teachers":
                ctx.state.teachers_in[sid] = row
            else:
                ctx.state.guardians_in[sid] = row


def user_kinds(ctx: ImportContext, roles: dict[str, list[str]]) -> list[str]:
    kinds = []
    if "student" in roles:
        kinds.append("students")
    if "teacher" in roles:
        kinds.append("teachers")
    if ctx.guardian_roles & roles.keys():
        kinds.append("guardians")
    return kinds


def _existing_kinds(ctx: ImportContext) -> dict[str, list[str]]:
    """Delta files may carry a user without their (unchanged) roles: keep what they are."""
    kinds: dict[str, list[str]] = defaultdict(list)
    for model, kind in ((Student, "students"), (Staff, "teachers"), (Guardian, "guardians")):
        for ext in ctx.session.scalars(
            select(model.external_id).where(model.external_id.is_not(None))
        ):
            if ext is not None:  # (the query says so; the type does not)
                kinds[ext].append(kind)
    return kinds


def reject_user(ctx: ImportContext, row: UserRow, kind: str, reason: str) -> None:
    ctx.report.reject(kind, "users.csv", row.line, reason, row.sid)
    ctx.state.rejected_users.setdefault(row.sid, (row.line, kind))


def _validate(
    ctx: ImportContext, row: UserRow, kind: str, region: str, phones: dict[str, str | None]
) -> str | None:
    if kind == "teachers":
        if not row.email:
            return "a teacher needs an email address (staff sign in with it); email is empty"
        try:
            row.teacher_email = normalize_email(row.email)
        except ValueError:
            return f"email '{row.email}' is not a valid email address"
    elif kind == "guardians":
        numbers = []
        for column, raw in (("sms", row.sms), ("phone", row.phone)):
            if not raw:
                continue
            if raw not in phones:
                try:
                    phones[raw] = normalize_phone(raw, region)
                except ValueError:
                    phones[raw] = None
            numbers.append((column, raw, phones[raw]))
        usable = next((n for n in numbers if n[2]), None)
        first = numbers[0] if numbers else None
        if first and not first[2]:
            return f"{first[0]} '{first[1]}' is not a valid phone number"
        for column, raw, number in numbers:
            if number is None and usable:
                ctx.report.warn(
                    "users.csv",
                    row.line,
                    f"{column} '{raw}' is not a valid phone number; {usable[0]} is used",
                    row.sid,
                )
        row.guardian_phone = usable[2] if usable else None
        if row.email:
            try:
                row.guardian_email = normalize_email(row.email)
            except ValueError:
                return f"email '{row.email}' is not a valid email address"
    return None


def user_reason(ctx: ImportContext, sid: str, wanted: str) -> str:
    """Why a reference to a user cannot be followed."""
    if sid in ctx.state.rejected_users:
        line, _ = ctx.state.rejected_users[sid]
        return f"{wanted} '{sid}' was rejected (users.csv line {line})"
    row = ctx.state.user_rows.get(sid)
    if row is not None and row.status != "active" and user_kinds(ctx, row.roles):
        return f"{wanted} '{sid}' is marked {row.status} in users.csv (line {row.line})"
    if row is not None:
        roles = ", ".join(sorted(row.roles)) or "none"
        return f"'{sid}' is not a {wanted} (role: {roles})"
    if sid in ctx.state.ignored_users:
        return f"'{sid}' is not a {wanted} (role: {ctx.state.ignored_users[sid]})"
    return f"{wanted} '{sid}' is not in users.csv"


def _ignored_role(role: str, settings: Settings) -> str:
    if role == "relative" and not settings.roster_import_relatives:
        return "users.csv: role relative (HEARTH_ROSTER_IMPORT_RELATIVES is off)"
    return f"users.csv: role {role}"
