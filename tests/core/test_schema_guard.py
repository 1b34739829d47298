"""The `hearth` commands on a database that is not at the newest revision: one line saying
what to run, never a traceback; and replicas that start together migrate once, in turn."""

import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import ROOT, run_hearth
from tests.core.test_migrations_and_cli import empty_database  # noqa: F401  (a fixture)

ROSTER = ROOT / "tests" / "roster" / "fixtures" / "oneroster-1.2"

# Commands that read or write the database, each through a different path of app/cli.py.
DATABASE_COMMANDS = [
    ["models", "list"],
    ["users", "create-admin", "--email", "it@district.org"],
    ["roster", "import", str(ROSTER), "--dry-run"],
    ["worker", "--queue", "send"],
    ["db", "check"],
]


def one_line_asking_to_upgrade(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, run.stderr
    return errors[0]


@pytest.mark.parametrize("command", DATABASE_COMMANDS, ids=" ".join)
def test_a_command_on_an_unmigrated_database_says_to_upgrade(command, empty_database, tmp_path):  # noqa: F811
    run = run_hearth(tmp_path, *command, database_url=empty_database, timeout=120)
    line = one_line_asking_to_upgrade(run)
    assert "run `hearth db upgrade` first" in line and "no Hearth tables" in line


def test_after_an_upgrade_the_same_commands_run(empty_database, tmp_path):  # noqa: F811
    assert run_hearth(tmp_path, "db", "upgrade", database_url=empty_database).returncode == 0
    listed = run_hearth(tmp_path, "apikeys", "list", database_url=empty_database)
    assert listed.returncode == 0, listed.stderr
    created = run_hearth(
        tmp_path, "users", "create-admin", "--email", "it@district.org", database_url=empty_database
    )
    assert created.returncode == 0, created.stderr


def test_a_database_from_a_newer_hearth_is_refused(empty_database, tmp_path):  # noqa: F811
    assert run_hearth(tmp_path, "db", "upgrade", database_url=empty_database).returncode == 0
    engine = create_engine(empty_database)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '2099_01_01_future'"))
    engine.dispose()
    line = one_line_asking_to_upgrade(
        run_hearth(tmp_path, "apikeys", "list", database_url=empty_database)
    )
    assert "newer Hearth" in line and "2099_01_01_future" in line


def test_replicas_starting_together_migrate_once_in_turn(empty_database, tmp_path):  # noqa: F811
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env |= {"HEARTH_DATA_DIR": str(tmp_path), "HEARTH_DATABASE_URL": empty_database}
    replicas = [
        subprocess.Popen(
            [sys.executable, "-m", "app", "db", "upgrade"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outcomes = [(r.wait(180), *r.communicate()) for r in replicas]
    for code, stdout, stderr in outcomes:
        assert code == 0, stderr
        assert "database is up to date" in stdout
    engine = create_engine(empty_database)
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    engine.dispose()
    assert len(versions) == 1
    checked = run_hearth(tmp_path, "db", "check", database_url=empty_database)
    assert checked.returncode == 0, checked.stderr
