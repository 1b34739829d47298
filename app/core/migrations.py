"""Running Alembic from code (the CLI, the server at start-up, the tests)."""

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, event, inspect, make_url, text

from app.core.config import get_settings
from app.core.db import make_engine
from app.core.errors import HearthError

log = logging.getLogger("hearth.migrations")

# Key of the PostgreSQL advisory lock held around an upgrade (any constant bigint, Hearth's own).
UPGRADE_LOCK_KEY = 0x48_45_41_52_54_48  # "HEARTH"


def project_root() -> Path:
    """The folder holding alembic.ini and migrations/: the source tree, else the copy an
    installed package carries in app/_bundled/ (see setup.py), else the working directory."""
    package = Path(__file__).resolve().parents[1]
    for root in (package.parent, package / "_bundled"):
        if (root / "alembic.ini").exists():
            return root
    return Path.cwd()


def alembic_config(connection: Connection | None = None) -> Config:
    root = project_root()
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "migrations"))
    config.attributes["quiet_logging"] = True
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection | None = None) -> None:
    """Migrate to the newest revision. Without a connection, on the configured database and
    one process at a time: replicas that start together wait for the first one's upgrade, then
    find nothing left to do."""
    if connection is not None:
        command.upgrade(alembic_config(connection), "head")
        return
    with _one_upgrade_at_a_time():
        command.upgrade(alembic_config(), "head")


@contextmanager
def _one_upgrade_at_a_time() -> Iterator[None]:
    settings = get_settings()
    if settings.is_sqlite:
        # A lock file next to the database (SQLite has no advisory locks of its own).
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        database = Path(make_url(settings.sqlalchemy_url).database or "hearth.db")
        with open(database.with_name(database.name + ".upgrade-lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
        return
    # PostgreSQL: a session-level advisory lock, held on a connection of its own while the
    # upgrade runs on another; the server releases it if this process dies.
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with engine.connect() as holder:
            got = holder.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": UPGRADE_LOCK_KEY}
            )
            if not got:
                log.info("another process is migrating the database; waiting for it")
                holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": UPGRADE_LOCK_KEY})
            holder.commit()
            try:
                yield
            finally:
                holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": UPGRADE_LOCK_KEY})
                holder.commit()
    finally:
        engine.dispose()


def check(connection: Connection | None = None) -> None:
    """Raises if the models and the migrations disagree."""
    if connection is None:
        _refuse_if_not_current()
    command.check(alembic_config(connection))


class SchemaNotCurrent(HearthError):
    status_code = 503
    code = "schema_not_current"


def refuse_outdated_schema(engine: Engine) -> None:
    """The first time `engine` connects, check that the database is at the newest revision,
    and raise SchemaNotCurrent (one line: what to run) if not. The `hearth` commands that read
    or write the database go through this, so none of them fails half-way on a missing table."""
    if not event.contains(engine, "first_connect", _check_on_first_connect):
        event.listen(engine, "first_connect", _check_on_first_connect)


def _check_on_first_connect(_dbapi_connection: object, _record: object) -> None:
    _refuse_if_not_current()


def _refuse_if_not_current() -> None:
    # An engine of its own: the one being connected is busy with this very connection.
    probe = make_engine(get_settings().sqlalchemy_url)
    try:
        problem = schema_problem(probe)
    finally:
        probe.dispose()
    if problem:
        raise SchemaNotCurrent(problem)


def schema_problem(engine: Engine) -> str | None:
    """Why this database cannot serve this Hearth yet (one line for a person), or None when
    it is at the newest revision."""
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    alembic_log = logging.getLogger("alembic.runtime.migration")
    level = alembic_log.level
    alembic_log.setLevel(logging.WARNING)  # a look, not a migration: no "Context impl" lines
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
            has_tables = bool(inspect(connection).get_table_names())
    finally:
        alembic_log.setLevel(level)
    if current == heads:
        return None
    where = engine.url.render_as_string(hide_password=True)
    if not current:
        state = "has no Hearth tables yet" if not has_tables else "was never migrated by Hearth"
        return f"the database {where} {state}: run `hearth db upgrade` first"
    known = {r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if current - known:
        return (
            f"the database {where} was migrated by a newer Hearth (revision "
            f"{', '.join(sorted(current - known))}): run that version's `hearth`"
        )
    return f"the database {where} is not up to date: run `hearth db upgrade` first"
