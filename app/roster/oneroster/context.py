"""What every step of a OneRoster import shares: the files, the session, the report, and
the state the steps fill for the ones after them (sourcedId -> Hearth id, who is present)."""

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import utcnow
from app.core.errors import Conflict
from app.roster.parse import CsvTable, Manifest, RosterFiles
from app.roster.report import Report

GUARDIAN_ROLES = ("parent", "guardian")
RELATIONSHIP_BY_ROLE = {"parent": "guardian", "guardian": "guardian", "relative": "other"}
MIN_GUARDED = 20  # the mass-deactivation guard ignores schools smaller than this


class RosterRefused(Conflict):
    """The files are well formed, but applying them looks like a mistake."""

    code = "roster_refused"


@dataclass(slots=True)
class UserRow:
    line: int
    sid: str
    status: str
    given: str
    family: str
    identifier: str
    email: str
    sms: str
    phone: str
    agents: tuple[str, ...]
    grade: str | None
    orgs: tuple[str, ...]
    language: str
    roles: dict[str, list[str]] = field(default_factory=dict)  # role -> org sourcedIds
    # Filled while validating, per kind:
    teacher_email: str = ""
    guardian_phone: str | None = None
    guardian_email: str | None = None


@dataclass
class ImportState:
    """What the steps learn, in the order they run: sourcedId -> Hearth id for everything a
    later file may reference, who the files hold, and the counts the guard needs."""

    schools: dict[str, int] = field(default_factory=dict)
    school_language: dict[int, str] = field(default_factory=dict)
    school_names: dict[int, str] = field(default_factory=dict)
    non_school_orgs: dict[str, str] = field(default_factory=dict)  # sourcedId -> type
    scope: set[int] = field(default_factory=set)  # schools whose rosters this import holds (bulk)
    sections: dict[str, int] = field(default_factory=dict)
    section_school: dict[int, int] = field(default_factory=dict)
    present_sections: set[int] = field(default_factory=set)
    rejected_classes: dict[str, int] = field(default_factory=dict)
    user_rows: dict[str, UserRow] = field(default_factory=dict)
    user_sids: set[str] = field(default_factory=set)  # every sourcedId in users.csv, good or bad
    ignored_users: dict[str, str] = field(default_factory=dict)  # sid -> roles not imported
    rejected_users: dict[str, tuple[int, str]] = field(default_factory=dict)  # sid -> line, kind
    students_in: dict[str, UserRow] = field(default_factory=dict)
    teachers_in: dict[str, UserRow] = field(default_factory=dict)
    guardians_in: dict[str, UserRow] = field(default_factory=dict)
    student_ids: dict[str, int] = field(default_factory=dict)
    staff_ids: dict[str, int] = field(default_factory=dict)
    guardian_ids: dict[str, int] = field(default_factory=dict)
    student_school: dict[int, int] = field(default_factory=dict)
    present_students: set[int] = field(default_factory=set)
    present_teachers: set[int] = field(default_factory=set)
    present_guardians: set[int] = field(default_factory=set)
    teacher_outcome: dict[int, str] = field(default_factory=dict)
    teacher_schools: defaultdict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    existing_links: set[tuple[int, int]] = field(default_factory=set)
    teaches: defaultdict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    # For the guard against a truncated export: bulk deactivations for being missing.
    missing_students: Counter[int] = field(default_factory=Counter)  # school id -> count
    active_students: Counter[int] = field(default_factory=Counter)
    missing_guardians: int = 0
    active_roster_guardians: int = 0


@dataclass
class ImportContext:
    session: Session
    files: RosterFiles
    settings: Settings
    manifest: Manifest
    today: date  # enrollments whose endDate is before it have ended
    mode_override: str | None = None
    force: bool = False
    now: datetime = field(default_factory=utcnow)
    report: Report = field(default_factory=lambda: Report("oneroster"))
    state: ImportState = field(default_factory=ImportState)
    guardian_roles: set[str] = field(init=False)  # the roles imported as guardians

    def __post_init__(self) -> None:
        self.guardian_roles = set(GUARDIAN_ROLES)
        if self.settings.roster_import_relatives:
            self.guardian_roles.add("relative")

    def mode(self, name: str) -> str:
        if self.mode_override:
            return self.mode_override
        mode = self.manifest.file_modes.get(name, "bulk")
        return "bulk" if mode == "absent" else mode

    def present(self, name: str) -> bool:
        return self.files.has(name) and self.manifest.file_modes.get(name) != "absent"

    def table(self, name: str) -> CsvTable:
        table = self.files.table(name)
        for warning in table.warnings:
            self.report.warn(name, None, warning)
        return table

    def rows(self, table: CsvTable, entity: str) -> Iterator[tuple[int, list[str]]]:
        count = 0
        for line, fields in table.rows():
            count += 1
            yield line, fields
        for line, reason in table.bad_rows:
            self.report.reject(entity, table.name, line, reason)
        if table.name in self.report.files:
            self.report.files[table.name]["rows"] = count + len(table.bad_rows)

    def duplicate(self, seen: dict[str, int], sid: str, entity: str, file: str, line: int) -> bool:
        if not sid:
            self.report.reject(entity, file, line, "sourcedId is empty")
            return True
        if sid in seen:
            self.report.reject(
                entity, file, line, f"duplicate sourcedId (first on line {seen[sid]})", sid
            )
            return True
        seen[sid] = line
        return False

    def inactive_row(
        self, entity: str, file: str, status: str, row: Any, updates: list[dict[str, Any]]
    ) -> None:
        """A row the roster says is not active: deactivate it if Hearth has it active."""
        if row is not None and row.active:
            updates.append({"id": row.id, "active": False})
            self.report.count(entity, "deactivated")
        elif row is not None:
            self.report.count(entity, "unchanged")
        else:
            self.report.ignore(f"{file}: {status} and not in Hearth")


def tidy_name(value: str, limit: int = 100) -> str:
    """A name cell on one line, spaces collapsed, cut to the column's length."""
    return " ".join(value.split())[:limit]


def bad_status(raw: str) -> str:
    return f"status '{raw}' is not active or tobedeleted"
