"""`hearth roster import`, `hearth roster import-guardians`, `hearth schools set-sender`:
clear messages, exit code 1 on any error, never a traceback."""

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from app.audit.models import AuditEvent
from app.cli import cli
from app.schools.models import School
from tests.factories import SchoolFactory
from tests.roster.conftest import sample, write_csv

ROOT = Path(__file__).resolve().parents[2]


def hearth(*args: str):
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_roster_import_prints_the_report(session, tmp_path):
    folder = sample("1.1", tmp_path)

    result = hearth("roster", "import", str(folder))

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("OneRoster 1.1 CSV import ")
    assert "users.csv (bulk, 17 rows)" in lines[0]
    students = next(line for line in lines if line.startswith("students"))
    assert students.split() == ["students", "6", "0", "0", "0", "0"]
    assert "ignored: orgs.csv: type district: 1" in result.output

    again = hearth("roster", "import", str(folder), "--dry-run", "--json")
    assert again.exit_code == 0, again.output
    report = json.loads(again.output)
    assert report["status"] == "succeeded" and report["dry_run"] is True
    assert report["counts"]["students"]["unchanged"] == 6


def test_roster_import_errors_are_one_clear_line_and_exit_code_1(session, tmp_path):
    missing = hearth("roster", "import", str(tmp_path / "nope.zip"))
    assert missing.exit_code == 1
    assert "error:" in missing.output and "nope.zip does not exist" in missing.output

    text = tmp_path / "roster.zip"
    text.write_text("not a zip")
    assert "roster.zip is not a .zip file" in hearth("roster", "import", str(text)).output

    folder = sample("1.1", tmp_path)
    bad_mode = hearth("roster", "import", str(folder), "--mode", "full")
    assert bad_mode.exit_code == 1 and "--mode must be bulk or delta" in bad_mode.output

    (folder / "users.csv").unlink()
    no_users = hearth("roster", "import", str(folder))
    assert no_users.exit_code == 1 and "has no users.csv" in no_users.output

    # A roster that would empty a school fails as an import: recorded, and exit code 1.
    small = tmp_path / "small"
    small.mkdir()
    write_csv(small, "orgs.csv", "sourcedId,name,type\nsch-1,Hill School,school")
    rows = [f"s-{i},sch-1,student,Kid,N{i}" for i in range(30)]
    header = "sourcedId,orgSourcedIds,role,givenName,familyName"
    write_csv(small, "users.csv", "\n".join([header, *rows]))
    assert hearth("roster", "import", str(small)).exit_code == 0
    write_csv(small, "users.csv", "\n".join([header, *rows[:5]]))
    refused = hearth("roster", "import", str(small))
    assert refused.exit_code == 1
    assert "failed: This import would deactivate 25 of the 30 active students" in refused.output


def test_import_guardians_command(session, tmp_path):
    school = SchoolFactory()
    path = tmp_path / "g.csv"
    path.write_text("student_id,given_name,family_name,phone\n")
    unknown = hearth("roster", "import-guardians", str(path), "--school", "9999")
    assert unknown.exit_code == 1 and "No school with id 9999" in unknown.output
    ok = hearth("roster", "import-guardians", str(path), "--school", str(school.id))
    assert ok.exit_code == 0 and "Guardian CSV import" in ok.output
    path.write_text("name,phone\nx,1\n")
    bad = hearth("roster", "import-guardians", str(path), "--school", str(school.id))
    assert bad.exit_code == 1 and "no 'student_id' column" in bad.output


def test_schools_set_sender(session):
    school = SchoolFactory(sms_sender=None)

    number = hearth("schools", "set-sender", str(school.id), "+1 (512) 555-0100")
    assert number.exit_code == 0, number.output
    assert "now sends text messages from +15125550100" in number.output
    sid = "MG" + "AB12" * 8
    service = hearth("schools", "set-sender", str(school.id), sid)
    assert service.exit_code == 0, service.output
    session.expire_all()
    assert session.get(School, school.id).sms_sender == "MG" + "ab12" * 8
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "school.set_sender"))
    assert len(events.all()) == 2

    for bad, message in [
        ("12", "'12' is neither a phone number"),
        ("hello", "'hello' is neither a phone number"),
        ("MG123", "'MG123' is not a Messaging Service SID"),
        ("+1 555 0100 999", "is not a valid phone number"),
    ]:
        result = hearth("schools", "set-sender", str(school.id), bad)
        assert result.exit_code == 1 and message in result.output, (bad, result.output)
    nobody = hearth("schools", "set-sender", "9999", "+15125550100")
    assert nobody.exit_code == 1 and "no school with id 9999" in nobody.output
    session.expire_all()
    assert session.get(School, school.id).sms_sender == "MG" + "ab12" * 8


def test_schools_set_sender_refuses_another_schools_number(session):
    north = SchoolFactory(name="North", sms_sender="+15125550166")
    SchoolFactory(name="South", sms_sender="+15125550177", sms_pool=["+15125550178"])
    for args, field in [
        (["+15125550177"], "sms_sender"),
        (["+15125550166", "+1 512 555 0178"], "sms_pool"),
    ]:
        result = hearth("schools", "set-sender", str(north.id), *args)
        assert result.exit_code == 1, result.output
        assert (
            f"{field}: +1512555017" in result.output and "another school (South)" in result.output
        )
    session.expire_all()
    assert session.get(School, north.id).sms_sender == "+15125550166"
    assert session.get(School, north.id).sms_pool is None


def test_the_real_command_never_prints_a_traceback(tmp_path):
    env = {**os.environ, "HEARTH_DATA_DIR": str(tmp_path)}
    env["HEARTH_DATABASE_URL"] = f"sqlite:///{tmp_path / 'empty.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "app", "roster", "import", str(tmp_path / "missing")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_schools_set_sender_with_a_pool(session):
    school = SchoolFactory(sms_sender=None)
    pooled = hearth(
        "schools", "set-sender", str(school.id), "+15125550100", "+1 512 555 0101", "+15125550102"
    )
    assert pooled.exit_code == 0, pooled.output
    assert "pool: +15125550101, +15125550102" in pooled.output
    session.expire_all()
    assert session.get(School, school.id).sms_pool == ["+15125550101", "+15125550102"]
    service = hearth("schools", "set-sender", str(school.id), "+15125550100", "MG" + "ab12" * 8)
    assert service.exit_code == 1 and "list the phone numbers of the pool" in service.output
    kept = hearth("schools", "set-sender", str(school.id), "+15125550100")
    assert kept.exit_code == 0
    session.expire_all()
    assert session.get(School, school.id).sms_pool == ["+15125550101", "+15125550102"]
    cleared = hearth("schools", "set-sender", str(school.id), "+15125550100", "--no-pool")
    assert cleared.exit_code == 0
    session.expire_all()
    assert session.get(School, school.id).sms_pool is None
