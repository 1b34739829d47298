"""Backing up and restoring the embedded SQLite database, and the attachments beside it.

A backup is one self-contained SQLite file made with SQLite's online backup API: a consistent
snapshot taken while Hearth keeps serving and sending (in WAL mode writers are not blocked).
The attachments' files (each named by its SHA-256, never changed once written) are copied next
to it, into `<backup>.attachments/`. A restore puts such a file in place of the data dir's
database, with Hearth stopped, and the attachments back. Attachments kept in an S3-compatible
store (HEARTH_ATTACHMENT_STORE=s3) are not on this server: neither copies them (the store is
backed up with its own tools: versioning, replication). PostgreSQL is backed up with its own
tools; `postgres_guidance` says how."""

import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import make_url

from app.core.config import Settings
from app.core.errors import HearthError
from app.delivery import attachments

SQLITE_HEADER = b"SQLite format 3\x00"


class BackupError(HearthError):
    pass


@dataclass
class Copied:
    source: Path
    target: Path
    bytes: int
    revision: str | None  # the schema revision the copy is at (alembic), None if not Hearth's
    attachments: int = 0  # attachment files copied
    # Where the attachments are when they are not copied (kept in S3), for the output.
    attachments_elsewhere: str | None = None


def attachments_elsewhere(settings: Settings) -> str | None:
    """Where the attachments are kept when not in the data dir (an S3 bucket), or None."""
    if settings.attachment_store == "s3":
        return f"the S3 bucket {settings.s3_bucket} ({settings.s3_endpoint})"
    return None


def attachments_beside(backup_file: Path) -> Path:
    return backup_file.with_name(backup_file.name + ".attachments")


def _copy_files(source: Path, target: Path) -> int:
    """Copies the attachment files of `source` that `target` does not have yet (a file's name
    is its content's hash: one already there is the same file). Half-written uploads, named
    with a leading dot, are left out. Returns how many were copied."""
    if not source.is_dir():
        return 0
    copied = 0
    for file in sorted(source.iterdir()):
        if file.name.startswith(".") or not file.is_file() or (target / file.name).exists():
            continue
        target.mkdir(parents=True, exist_ok=True)
        partial = target / f".restore-{file.name}"
        shutil.copyfile(file, partial)
        partial.rename(target / file.name)
        copied += 1
    return copied


def database_file(settings: Settings) -> Path | None:
    """The SQLite database file of these settings, or None when the database is not SQLite."""
    if not settings.is_sqlite:
        return None
    return Path(make_url(settings.sqlalchemy_url).database or "").resolve()


def postgres_guidance(settings: Settings) -> str:
    """How to back up and restore this PostgreSQL database with pg_dump and pg_restore (the
    password is left out: give it in PGPASSWORD or ~/.pgpass)."""
    url = make_url(settings.sqlalchemy_url)
    options = " ".join(
        f"{flag} {value}"
        for flag, value in (("-h", url.host), ("-p", url.port), ("-U", url.username))
        if value
    )
    database = url.database or "hearth"
    return (
        "This Hearth keeps its data in PostgreSQL: back it up with PostgreSQL's own tools, e.g.\n"
        f"  pg_dump {options} -Fc -f hearth-$(date +%Y%m%d).dump {database}\n"
        "and restore into an empty database (Hearth stopped), then migrate:\n"
        f"  pg_restore {options} --no-owner -d {database} hearth-YYYYMMDD.dump\n"
        "  hearth db upgrade\n"
        + (
            f"The attachments' files are kept in {elsewhere}: back it up with the store's own "
            "tools."
            if (elsewhere := attachments_elsewhere(settings))
            else f"and copy the attachments' files with the dump: {attachments.folder(settings)}/"
        )
    )


def _revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return row[0] if row else None


def _copy(source: sqlite3.Connection, target: Path) -> str | None:
    """Copies an open database into a new file `target` (written beside it, then renamed, so
    an interrupted copy never sits under the final name). Returns the copy's revision."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    copy = sqlite3.connect(partial)
    try:
        source.backup(copy)  # all pages in one step: one consistent snapshot
        # One self-contained file, whatever journal mode the source used.
        copy.execute("PRAGMA journal_mode=DELETE")
        check = copy.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"the copy failed SQLite's integrity check: {check}")
        revision = _revision(copy)
    finally:
        copy.close()
    with open(partial, "rb") as written:
        os.fsync(written.fileno())
    partial.rename(target)
    return revision


def backup(settings: Settings, target: Path) -> Copied:
    """Copies the data dir's database into `target` (a new file; a folder gets a file named
    after the time) while Hearth runs."""
    source = database_file(settings)
    if source is None:
        raise BackupError("`hearth backup` copies the SQLite database; this one is PostgreSQL")
    if not source.is_file():
        raise BackupError(f"there is no database at {source} to back up")
    if target.is_dir():
        target = target / f"hearth-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.db"
    if target.exists():
        raise BackupError(f"{target} already exists: give a new file name")
    if not target.parent.is_dir():
        raise BackupError(f"there is no folder {target.parent} to write the backup to")
    if target.resolve() == source:
        raise BackupError("the backup cannot be the database itself")
    elsewhere = attachments_elsewhere(settings)
    if elsewhere is None and attachments_beside(target).exists():
        raise BackupError(f"{attachments_beside(target)} already exists: give a new file name")
    connection = sqlite3.connect(source, timeout=30)
    try:
        revision = _copy(connection, target)
    finally:
        connection.close()
    if elsewhere is not None:  # not on this server: nothing to copy
        return Copied(source, target, target.stat().st_size, revision, 0, elsewhere)
    # After the snapshot: every file it names was written before it (files are never changed).
    files = _copy_files(attachments.folder(settings), attachments_beside(target))
    return Copied(source, target, target.stat().st_size, revision, files)


def restore(settings: Settings, backup_file: Path, *, replace: bool = False) -> Copied:
    """Puts a backup in place of the data dir's database. Hearth must be stopped. An existing
    database is only replaced with `replace`, and is then kept beside it, renamed."""
    target = database_file(settings)
    if target is None:
        raise BackupError("`hearth restore` restores a SQLite backup; this Hearth uses PostgreSQL")
    if not backup_file.is_file():
        raise BackupError(f"there is no file {backup_file}")
    with open(backup_file, "rb") as f:
        if f.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupError(f"{backup_file} is not a SQLite database")
    # Read-only and immutable: opening the backup must not change it (nor create -wal files).
    source = sqlite3.connect(f"file:{backup_file.resolve()}?mode=ro&immutable=1", uri=True)
    try:
        check = source.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"{backup_file} is damaged: {check}")
        if _revision(source) is None:
            raise BackupError(f"{backup_file} is not a Hearth database (no alembic_version)")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            if not replace:
                raise BackupError(
                    f"{target} already holds a database: stop Hearth, then add --force to "
                    "replace it (it is kept beside it, renamed)"
                )
            _set_aside(target)
        revision = _copy(source, target)
    finally:
        source.close()
    elsewhere = attachments_elsewhere(settings)
    if elsewhere is not None:  # they never left the store: nothing is put into it
        return Copied(backup_file, target, target.stat().st_size, revision, 0, elsewhere)
    files = _copy_files(attachments_beside(backup_file), attachments.folder(settings))
    return Copied(backup_file, target, target.stat().st_size, revision, files)


def _set_aside(database: Path) -> Path:
    """Renames a database with its -wal and -shm files, which belong to it, to
    <name>.before-restore-<time>."""
    aside = database.with_name(f"{database.name}.before-restore-{datetime.now(UTC):%Y%m%dT%H%M%SZ}")
    for suffix in ("-wal", "-shm", ""):
        part = database.with_name(database.name + suffix)
        if part.exists():
            part.rename(aside.with_name(aside.name + suffix))
    return aside
