"""Reading roster files: a .zip or a folder of OneRoster CSV, or one plain guardian CSV.

Nothing here touches the database. Files become tables of rows, each with the line number a
person will find it on, and the structural problems that make a whole file unusable (not a
zip, no users.csv, a required column missing) become one RosterFileError, raised before
anything is saved."""

import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath

from app.core.errors import Invalid

MAX_FILE_BYTES = 500_000_000  # one CSV, uncompressed: far above any district's users.csv
MAX_FILES = 200

# Columns each OneRoster file must have to be usable by Hearth (the spec requires more; we
# only insist on what we read). Matching is case-insensitive.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "manifest.csv": ("propertyName", "value"),
    "orgs.csv": ("sourcedId", "name", "type"),
    "academicSessions.csv": ("sourcedId",),
    "courses.csv": ("sourcedId", "title"),
    "classes.csv": ("sourcedId", "title", "schoolSourcedId"),
    "users.csv": ("sourcedId", "givenName", "familyName"),
    "roles.csv": ("userSourcedId", "role", "orgSourcedId"),
    "enrollments.csv": ("classSourcedId", "userSourcedId", "role"),
}
# The files Hearth reads, in the order it reads them.
ONEROSTER_FILES: tuple[str, ...] = tuple(REQUIRED_COLUMNS)
STATUSES = {"active", "tobedeleted", "inactive"}  # `inactive` is OneRoster 1.0's spelling


class RosterFileError(Invalid):
    """The files cannot be imported at all; the import is refused whole and nothing is saved."""

    code = "roster_invalid"


# Files and tables -----------------------------------------------------------------------------


class RosterFiles:
    """The CSV files of one roster, by lower-cased name, from a .zip or a folder."""

    def __init__(self, members: dict[str, Callable[[], bytes]], origin: str) -> None:
        self._members = members
        self.origin = origin

    @classmethod
    def from_zip(cls, data: bytes, origin: str = "upload") -> "RosterFiles":
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            infos = archive.infolist()
        except (zipfile.BadZipFile, OSError, ValueError):
            raise RosterFileError(
                f"{origin} is not a .zip file. Upload the OneRoster export as one .zip "
                "holding manifest.csv, orgs.csv, users.csv, classes.csv, enrollments.csv, …"
            ) from None
        files = [
            i
            for i in infos
            if not i.is_dir()
            and not i.filename.startswith("__MACOSX/")
            and not PurePosixPath(i.filename).name.startswith("._")
            and i.filename.lower().endswith(".csv")
        ]
        if len(files) > MAX_FILES:
            raise RosterFileError(f"{origin} holds {len(files)} files; a roster has at most 15.")
        folder = _roster_folder([PurePosixPath(i.filename) for i in files], origin)
        members: dict[str, Callable[[], bytes]] = {}
        for info in files:
            path = PurePosixPath(info.filename)
            if path.parent != folder:
                continue
            if info.file_size > MAX_FILE_BYTES:
                raise RosterFileError(f"{path.name} is larger than {MAX_FILE_BYTES // 10**6} MB.")

            def read(info: zipfile.ZipInfo = info) -> bytes:
                try:
                    return archive.read(info)
                except (zipfile.BadZipFile, OSError, RuntimeError, EOFError) as exc:
                    raise RosterFileError(f"{info.filename} cannot be read: {exc}") from None

            members.setdefault(path.name.lower(), read)
        return cls(members, origin)

    @classmethod
    def from_path(cls, path: Path) -> "RosterFiles":
        if not path.exists():
            raise RosterFileError(f"{path} does not exist.")
        if path.is_file():
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise RosterFileError(f"{path} cannot be read: {exc.strerror}") from None
            return cls.from_zip(data, path.name)
        csvs = [p for p in path.rglob("*.csv") if p.is_file()]
        folder = _roster_folder(
            [PurePosixPath(p.relative_to(path).as_posix()) for p in csvs], str(path)
        )
        members: dict[str, Callable[[], bytes]] = {}
        for file in csvs:
            if PurePosixPath(file.relative_to(path).as_posix()).parent != folder:
                continue
            if file.stat().st_size > MAX_FILE_BYTES:
                raise RosterFileError(f"{file.name} is larger than {MAX_FILE_BYTES // 10**6} MB.")

            def read(file: Path = file) -> bytes:
                try:
                    return file.read_bytes()
                except OSError as exc:
                    raise RosterFileError(f"{file} cannot be read: {exc.strerror}") from None

            members.setdefault(file.name.lower(), read)
        return cls(members, str(path))

    def has(self, name: str) -> bool:
        return name.lower() in self._members

    def table(self, name: str) -> "CsvTable":
        return CsvTable.parse(name, self._members[name.lower()](), REQUIRED_COLUMNS.get(name, ()))


def _roster_folder(paths: list[PurePosixPath], origin: str) -> PurePosixPath:
    """The folder holding users.csv (or manifest.csv): exports are often zipped in a folder."""
    for wanted in ("users.csv", "manifest.csv"):
        found = sorted((p for p in paths if p.name.lower() == wanted), key=lambda p: len(p.parts))
        if found:
            return found[0].parent
    names = ", ".join(sorted({p.name for p in paths})[:8]) or "no .csv files"
    raise RosterFileError(
        f"{origin} has no users.csv, so it is not a OneRoster export (it holds: {names})."
    )


@dataclass
class CsvTable:
    """One CSV file: its header, its rows with line numbers, and what was odd about it."""

    name: str
    header: list[str]
    text: str
    warnings: list[str] = field(default_factory=list)
    bad_rows: list[tuple[int, str]] = field(default_factory=list)

    @classmethod
    def parse(cls, name: str, data: bytes, required: tuple[str, ...] = ()) -> "CsvTable":
        warnings: list[str] = []
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            # Windows SIS exports are sometimes Windows-1252; read them rather than refuse.
            text = data.decode("cp1252", errors="replace")
            warnings.append(f"{name} is not UTF-8; it was read as Windows-1252.")
        if "\x00" in text:
            raise RosterFileError(f"{name} is not a text file (it contains NUL bytes).")
        reader = csv.reader(io.StringIO(text), strict=True)
        try:
            header = [h.strip().lstrip("\ufeff") for h in next(reader, [])]
        except csv.Error as exc:
            raise RosterFileError(f"{name} line 1: {_csv_problem(exc)}") from None
        if not any(header):
            raise RosterFileError(f"{name} is empty; it needs at least a header line.")
        lowered = [h.lower() for h in header]
        duplicates = sorted({h for h in header if lowered.count(h.lower()) > 1})
        if duplicates:
            raise RosterFileError(f"{name} has the column {duplicates[0]!r} twice.")
        missing = [c for c in required if c.lower() not in lowered]
        if missing:
            raise RosterFileError(
                f"{name} has no {missing[0]!r} column. Its header is: {', '.join(header)}."
            )
        return cls(name, header, text, warnings)

    def col(self, name: str) -> int:
        """The index of a column by case-insensitive name, or -1 when absent."""
        lowered = name.lower()
        for i, h in enumerate(self.header):
            if h.lower() == lowered:
                return i
        return -1

    def has_col(self, name: str) -> bool:
        return self.col(name) >= 0

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line number, fields) for every non-blank row; ragged rows go to `bad_rows`."""
        # Strict: a quote left open would otherwise swallow every row after it, and in bulk
        # mode those people would look missing.
        reader = csv.reader(io.StringIO(self.text), strict=True)
        width = len(self.header)
        end = 1
        try:
            next(reader, None)
            end = reader.line_num
            for fields in reader:
                line, end = end + 1, reader.line_num
                if not any(f.strip() for f in fields):
                    continue
                if len(fields) > width and any(f.strip() for f in fields[width:]):
                    self.bad_rows.append(
                        (line, f"the row has {len(fields)} fields but the header has {width}")
                    )
                    continue
                if len(fields) < width:
                    fields.extend([""] * (width - len(fields)))
                yield line, fields
        except csv.Error as exc:
            raise RosterFileError(
                f"{self.name} line {end + 1}: {_csv_problem(exc)}; the file was not imported."
            ) from None


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    if "unexpected end of data" in text:
        return "a quoted field is never closed"
    if "expected after" in text:
        return "a quoted field is followed by other characters before the next comma"
    return text


def cell(fields: list[str], index: int) -> str:
    return fields[index].strip() if index >= 0 else ""


def split_list(value: str) -> tuple[str, ...]:
    """OneRoster lists are comma-separated inside one quoted field."""
    if not value:
        return ()
    return tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))


def parse_status(raw: str) -> str | None:
    """`active` for blank (1.1 bulk files leave it empty), None when not a status at all."""
    status = raw.strip().lower() or "active"
    return status if status in STATUSES else None


def ended(raw_end_date: str, today: date) -> bool:
    """True when an ISO date (or date-time) lies before today; unparseable dates never end."""
    text = raw_end_date.strip()[:10]
    if len(text) != 10:
        return False
    try:
        return date.fromisoformat(text) < today
    except ValueError:
        return False


# The manifest ----------------------------------------------------------------------------------


@dataclass
class Manifest:
    version: str  # "1.1" | "1.2"
    file_modes: dict[str, str]  # "users.csv" -> bulk | delta | absent
    source: str = ""
    present: bool = True


def read_manifest(files: RosterFiles) -> Manifest:
    if not files.has("manifest.csv"):
        version = "1.2" if files.has("roles.csv") else "1.1"
        if files.has("users.csv") and not files.table("users.csv").has_col("role"):
            version = "1.2"
        return Manifest(version=version, file_modes={}, present=False)
    table = files.table("manifest.csv")
    i_name, i_value = table.col("propertyName"), table.col("value")
    props = {cell(f, i_name).lower(): cell(f, i_value) for _, f in table.rows()}
    version = props.get("oneroster.version", "")
    if version not in ("1.0", "1.1", "1.2"):
        raise RosterFileError(
            f"manifest.csv gives oneroster.version {version!r}; Hearth reads 1.1 and 1.2."
        )
    modes: dict[str, str] = {}
    for name in ONEROSTER_FILES:
        if name == "manifest.csv":
            continue
        value = props.get(f"file.{name.removesuffix('.csv').lower()}", "").lower()
        if value and value not in ("bulk", "delta", "absent"):
            raise RosterFileError(
                f"manifest.csv gives file.{name.removesuffix('.csv')} = {value!r}; "
                "it must be bulk, delta or absent."
            )
        if value:
            modes[name] = value
    source = props.get("source.systemname", "")
    return Manifest(version="1.1" if version == "1.0" else version, file_modes=modes, source=source)


def check_oneroster(
    files: RosterFiles, mode: str | None = None, *, scan_rows: bool = False
) -> Manifest:
    """Structural checks that need no database: every present file has its columns (and,
    with `scan_rows`, every row can be read: what an upload is checked for before saving)."""
    manifest = read_manifest(files)
    users_mode = mode or manifest.file_modes.get("users.csv", "bulk")
    if not files.has("users.csv") and manifest.file_modes.get("users.csv") != "absent":
        raise RosterFileError(
            "The roster has no users.csv (and manifest.csv does not mark it absent)."
        )
    for name in ONEROSTER_FILES:
        if files.has(name) and manifest.file_modes.get(name) != "absent":
            table = files.table(name)  # raises on a missing required column
            if scan_rows:
                for _ in table.rows():  # raises on broken quoting
                    pass
    if (
        users_mode == "bulk"  # a delta may leave unchanged roles out
        and files.has("users.csv")
        and not files.has("roles.csv")
        and not files.table("users.csv").has_col("role")
    ):
        raise RosterFileError(
            "users.csv has no 'role' column and there is no roles.csv (OneRoster 1.2 keeps "
            "roles there), so Hearth cannot tell students, teachers and guardians apart."
        )
    return manifest


# Plain guardian CSV ---------------------------------------------------------------------------

# Canonical column -> accepted header spellings (case-insensitive, spaces or underscores).
GUARDIAN_CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "student_id": ("student_id", "student id", "studentid", "student_number", "student number"),
    "given_name": (
        "given_name",
        "guardian_given_name",
        "first_name",
        "guardian_first_name",
        "given name",
        "first name",
    ),
    "family_name": (
        "family_name",
        "guardian_family_name",
        "last_name",
        "guardian_last_name",
        "family name",
        "last name",
    ),
    "phone": ("phone", "mobile", "cell", "sms", "phone_number", "phone number"),
    "email": ("email", "email_address", "email address"),
    "language": ("language", "home_language", "home language", "preferred_language"),
    "relationship": ("relationship", "relation"),
}
GUARDIAN_CSV_REQUIRED = ("student_id", "given_name", "family_name")


def guardian_csv_columns(table: CsvTable) -> dict[str, int]:
    """Canonical column -> index; raises when a required column is missing."""
    found: dict[str, int] = {}
    for canonical, spellings in GUARDIAN_CSV_COLUMNS.items():
        for spelling in spellings:
            index = table.col(spelling)
            if index >= 0:
                found[canonical] = index
                break
    missing = [c for c in GUARDIAN_CSV_REQUIRED if c not in found]
    if missing:
        raise RosterFileError(
            f"{table.name} has no {missing[0]!r} column. Expected columns: student_id, "
            "given_name, family_name, phone, email, language, relationship "
            f"(its header is: {', '.join(table.header)})."
        )
    if "phone" not in found and "email" not in found:
        raise RosterFileError(f"{table.name} needs a 'phone' or an 'email' column.")
    return found


def read_guardian_csv(data: bytes, name: str) -> tuple[CsvTable, dict[str, int]]:
    if data[:4] == b"PK\x03\x04":
        raise RosterFileError(
            f"{name} is a .zip file; upload the guardians as one .csv file "
            "(OneRoster .zip exports go to the OneRoster import)."
        )
    table = CsvTable.parse(name, data)
    return table, guardian_csv_columns(table)
