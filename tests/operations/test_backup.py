"""`hearth backup` of a live SQLite database and `hearth restore` into another data dir."""

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, run_hearth
from tests.servers import free_port


def word(n: int) -> str:
    """A different word for each n, made of letters (Hearth keeps numbers out of the model)."""
    letters = ""
    while True:
        n, digit = divmod(n, 26)
        letters += "abcdefghijklmnopqrstuvwxyz"[digit]
        if not n:
            return letters + "ing"


def rows(database: Path, query: str) -> list[tuple]:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return connection.execute(query).fetchall()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def live_demo(tmp_path_factory) -> Iterator[tuple[Path, str, str]]:
    """`hearth serve --demo` on SQLite: (its data dir, its URL, the demo admin's API key)."""
    data_dir = tmp_path_factory.mktemp("live")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env |= {"HEARTH_DATA_DIR": str(data_dir), "HEARTH_ENV": "dev"}
    log = data_dir / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--demo", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail(f"hearth serve did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.3)
    admin_key = (data_dir / "demo-api-keys").read_text().splitlines()[0]
    try:
        yield data_dir, url, admin_key
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()


def test_a_backup_taken_while_hearth_writes_restores_into_a_new_data_dir(live_demo, tmp_path):
    data_dir, url, admin_key = live_demo
    live_db = data_dir / "hearth.db"
    cached = "SELECT count(*) FROM translation_cache"

    # Each new sentence translated is a new row of the translation cache: Hearth keeps writing
    # while the backup is taken.
    stop = threading.Event()
    written: list[int] = []

    def keep_translating() -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {admin_key}"}) as client:
            n = 0
            while not stop.is_set():
                n += 1
                answer = client.post(
                    f"{url}/api/v1/translate",
                    json={
                        "text": f"Thank you, {word(n)}.",
                        "source": "en",
                        "target": "es",
                    },
                    timeout=30,
                )
                assert answer.status_code == 200, answer.text
                written.append(n)

    writer = threading.Thread(target=keep_translating)
    writer.start()
    try:
        while len(written) < 20:
            time.sleep(0.05)
        before = rows(live_db, cached)[0][0]
        backup_file = tmp_path / "hearth-backup.db"
        made = run_hearth(data_dir, "backup", str(backup_file))
        during = len(written)
        while len(written) < during + 20:  # still writing after the backup
            time.sleep(0.05)
    finally:
        stop.set()
        writer.join(30)
    assert made.returncode == 0, made.stderr
    assert f"to {backup_file}" in made.stdout
    assert not backup_file.with_name(backup_file.name + "-wal").exists(), "one file, no WAL"
    after = rows(live_db, cached)[0][0]
    in_backup = rows(backup_file, cached)[0][0]
    assert before <= in_backup < after, (before, in_backup, after)
    assert rows(backup_file, "PRAGMA integrity_check") == [("ok",)]

    restored_dir = tmp_path / "restored"
    restored = run_hearth(restored_dir, "restore", str(backup_file))
    assert restored.returncode == 0, restored.stderr
    restored_db = restored_dir / "hearth.db"
    guardians = "SELECT id, given_name, family_name, language FROM guardians ORDER BY id"
    assert rows(restored_db, guardians) == rows(live_db, guardians)
    assert len(rows(restored_db, guardians)) == 45

    # Hearth itself reads the restored data dir: the demo's API keys are there.
    listed = run_hearth(restored_dir, "apikeys", "list")
    assert listed.returncode == 0, listed.stderr
    assert "demo admin" in listed.stdout and "demo teacher" in listed.stdout


def test_restore_keeps_an_existing_database_unless_forced_and_then_sets_it_aside(tmp_path):
    source_dir, target_dir = tmp_path / "source", tmp_path / "target"
    for data_dir in (source_dir, target_dir):
        assert run_hearth(data_dir, "db", "upgrade").returncode == 0
    created = run_hearth(source_dir, "users", "create-admin", "--email", "it@district.org")
    assert created.returncode == 0, created.stderr
    backup_file = tmp_path / "backup.db"
    assert run_hearth(source_dir, "backup", str(backup_file)).returncode == 0

    again = run_hearth(source_dir, "backup", str(backup_file))
    assert again.returncode == 1 and "already exists" in again.stderr

    refused = run_hearth(target_dir, "restore", str(backup_file))
    assert refused.returncode == 1 and "--force" in refused.stderr
    assert rows(target_dir / "hearth.db", "SELECT count(*) FROM staff") == [(0,)]

    forced = run_hearth(target_dir, "restore", str(backup_file), "--force")
    assert forced.returncode == 0, forced.stderr
    assert rows(target_dir / "hearth.db", "SELECT email FROM staff") == [("it@district.org",)]
    (aside,) = target_dir.glob("hearth.db.before-restore-*[0-9Z]")
    assert rows(aside, "SELECT count(*) FROM staff") == [(0,)]


def test_the_attachments_files_go_with_the_backup_and_come_back_with_the_restore(tmp_path):
    source_dir, target_dir = tmp_path / "source", tmp_path / "target"
    assert run_hearth(source_dir, "db", "upgrade").returncode == 0
    photo = b"\xff\xd8\xff\xe0 a photo's bytes"
    name = hashlib.sha256(photo).hexdigest()
    (source_dir / "attachments").mkdir()
    (source_dir / "attachments" / name).write_bytes(photo)
    (source_dir / "attachments" / ".upload-half").write_bytes(b"half an upload")

    backup_file = tmp_path / "backup.db"
    made = run_hearth(source_dir, "backup", str(backup_file))
    assert made.returncode == 0, made.stderr
    beside = tmp_path / "backup.db.attachments"
    assert "1 attachment files" in made.stdout and str(beside) in made.stdout
    assert sorted(p.name for p in beside.iterdir()) == [name]  # not the half-written upload

    restored = run_hearth(target_dir, "restore", str(backup_file))
    assert restored.returncode == 0, restored.stderr
    assert "1 attachment files" in restored.stdout
    assert (target_dir / "attachments" / name).read_bytes() == photo

    # A second backup under the same name is refused before anything is written.
    backup_file.unlink()
    again = run_hearth(source_dir, "backup", str(backup_file))
    assert again.returncode == 1 and "backup.db.attachments already exists" in again.stderr
    assert not backup_file.exists()


def test_restore_refuses_what_is_not_a_hearth_backup(tmp_path):
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("not a database")
    run = run_hearth(tmp_path / "data", "restore", str(not_sqlite))
    assert run.returncode == 1 and "is not a SQLite database" in run.stderr
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    run = run_hearth(tmp_path / "data", "restore", str(other))
    assert run.returncode == 1 and "not a Hearth database" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "data" / "hearth.db").exists()


def test_with_postgresql_backup_says_how_to_use_pg_dump(tmp_path):
    url = "postgresql+psycopg://hearth:s3cret-pw@db.district.org:5433/hearth"
    run = run_hearth(tmp_path, "backup", str(tmp_path / "x.db"), database_url=url)
    assert run.returncode == 1
    assert "pg_dump -h db.district.org -p 5433 -U hearth -Fc" in run.stderr
    assert "pg_restore" in run.stderr and "s3cret-pw" not in run.stderr
    assert f"copy the attachments' files with the dump: {tmp_path.resolve()}/attachments/" in (
        run.stderr.replace("\n", " ")
    )
    assert not (tmp_path / "x.db").exists()
