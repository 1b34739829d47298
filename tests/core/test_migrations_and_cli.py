"""`hearth db upgrade` on an empty database, `alembic check`, and the admin commands."""

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from app.cli import cli
from app.core.config import get_settings
from tests.conftest import run_hearth

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def empty_database(engine, tmp_path) -> Iterator[str]:
    """The URL of a brand-new, empty database of the same kind as the test database."""
    if engine.dialect.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"hearth_empty_{uuid.uuid4().hex[:8]}"
    admin = create_engine(engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield engine.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def hearth(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_hearth(tmp_path, *args, database_url=url, timeout=120)


def test_upgrade_on_empty_database_then_check_finds_no_differences(empty_database, tmp_path):
    upgraded = hearth(empty_database, tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    checked = hearth(empty_database, tmp_path, "db", "check")
    assert checked.returncode == 0, checked.stderr
    assert "agree" in checked.stdout
    tables = set(
        create_engine(empty_database)
        .connect()
        .execute(
            text(
                "SELECT name FROM sqlite_master WHERE type='table'"
                if empty_database.startswith("sqlite")
                else "SELECT tablename FROM pg_tables WHERE schemaname='public'"
            )
        )
        .scalars()
    )
    assert {"guardians", "threads", "messages", "api_keys", "audit_events"} <= tables


def test_admin_commands(empty_database, tmp_path):
    assert hearth(empty_database, tmp_path, "db", "upgrade").returncode == 0
    admin = hearth(empty_database, tmp_path, "users", "create-admin", "--email", "it@district.org")
    assert admin.returncode == 0, admin.stderr
    assert "password:" in admin.stdout
    again = hearth(empty_database, tmp_path, "users", "create-admin", "--email", "it@district.org")
    assert again.returncode == 1 and "already exists" in again.stderr
    # Sign-in matches emails in any case: one account per address, whatever its case.
    upper = hearth(empty_database, tmp_path, "users", "create-admin", "--email", "IT@District.org")
    assert upper.returncode == 1 and "already exists" in upper.stderr
    short = hearth(
        empty_database,
        tmp_path,
        "users",
        "create-admin",
        "--email",
        "it2@district.org",
        "--password",
        "too-short",
    )
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    long = hearth(
        empty_database,
        tmp_path,
        "users",
        "create-admin",
        "--email",
        "it2@district.org",
        "--password",
        "x" * 257,
    )
    assert long.returncode == 1 and "256 characters at most" in long.stderr

    created = hearth(
        empty_database,
        tmp_path,
        "apikeys",
        "create",
        "--name",
        "SIS sync",
        "--scopes",
        "read,write",
        "--staff",
        "it@district.org",
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("hearth_")
    listed = hearth(empty_database, tmp_path, "apikeys", "list")
    assert "SIS sync" in listed.stdout and key not in listed.stdout

    bad = hearth(empty_database, tmp_path, "apikeys", "create", "--name", "x", "--scopes", "root")
    assert bad.returncode == 1 and "Scopes must be" in bad.stderr
    nobody = hearth(
        empty_database,
        tmp_path,
        "apikeys",
        "create",
        "--name",
        "x",
        "--staff",
        "ghost@district.org",
    )
    assert nobody.returncode == 1 and "No staff member" in nobody.stderr

    assert hearth(empty_database, tmp_path, "apikeys", "revoke", "1").returncode == 0
    assert "revoked" in hearth(empty_database, tmp_path, "apikeys", "list").stdout


@pytest.mark.parametrize(
    ("given", "args", "expected"),
    [
        (None, ["--port", "8732"], "http://127.0.0.1:8732"),
        (None, ["--host", "0.0.0.0", "--port", "9000"], "http://127.0.0.1:9000"),
        ("https://hearth.district.example", ["--port", "8732"], "https://hearth.district.example"),
    ],
)
def test_serve_links_to_the_port_it_serves_unless_a_public_url_is_set(
    monkeypatch, tmp_path, given, args, expected
):
    """Links in texts and emails (and the URL Twilio signs) follow `--host`/`--port` while
    HEARTH_PUBLIC_URL is unset: a demo on another port does not send families to :8000."""
    import uvicorn

    seen: dict[str, str] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: seen.update(url=get_settings().public_url))
    # Not the real logging set-up: it would point every logger at the runner's stream, which
    # is closed when the command returns.
    monkeypatch.setattr("app.cli.configure_logging", lambda level: None)
    for name in ("HEARTH_PUBLIC_URL", "HEARTH_ARGOS_INTER_THREADS"):
        monkeypatch.setenv(name, "")  # so that what serve sets is undone after the test
        monkeypatch.delenv(name)
    if given:
        monkeypatch.setenv("HEARTH_PUBLIC_URL", given)
    monkeypatch.setenv("HEARTH_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["serve", *args])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert seen == {"url": expected}
