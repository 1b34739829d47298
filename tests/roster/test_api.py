"""The roster API: uploads run as jobs, reports are readable, bad uploads save nothing."""

import io
import zipfile
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.core.db import utcnow
from app.core.queue import run_job
from app.people.models import Guardian, StudentGuardian
from app.roster.models import RosterImport
from app.roster.service import ImportBusy
from app.roster.tasks import run_roster_import
from tests.conftest import count_rows
from tests.factories import GuardianFactory, SchoolFactory, StaffFactory, StudentFactory
from tests.roster.conftest import sample, write_csv, zip_folder

IMPORTS = "/api/v1/roster/imports"


def upload(client, headers, data: bytes, name: str = "roster.zip", **form):
    fields = {k: str(v).lower() if isinstance(v, bool) else v for k, v in form.items()}
    return client.post(
        IMPORTS, headers=headers, files={"file": (name, data, "application/zip")}, data=fields
    )


def test_upload_runs_as_a_job_and_its_report_is_readable(client, auth, session, tmp_path):
    headers = auth("write")

    response = upload(client, headers, zip_folder(sample("1.2", tmp_path)))

    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    assert response.headers["location"] == f"{IMPORTS}/{job_id}"
    job = client.get(f"{IMPORTS}/{job_id}", headers=headers).json()
    assert job["status"] == "succeeded" and job["error"] is None
    assert job["kind"] == "oneroster" and job["filename"] == "roster.zip"
    assert job["started_at"] and job["finished_at"]
    report = job["report"]
    assert report["format"] == "OneRoster 1.2 CSV" and report["dry_run"] is False
    assert report["counts"]["students"] == {
        "created": 5,
        "updated": 0,
        "deactivated": 0,
        "unchanged": 0,
        "rejected": 0,
    }
    assert report["files"]["users.csv"] == {"mode": "bulk", "rows": 13}
    listed = client.get(IMPORTS, headers=headers).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == job_id
    assert listed["items"][0]["counts"]["guardians"]["created"] == 5
    assert "report" not in listed["items"][0]
    # The upload (every family's contacts) is not kept once the job has run.
    assert session.scalar(select(RosterImport.upload).where(RosterImport.id == job_id)) is None
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "roster.import")).one()
    assert event.object_id == str(job_id) and event.actor.startswith("apikey:")
    assert count_rows(session, "students") == 5


def test_a_dry_run_upload_reports_and_saves_nothing(client, auth, session, tmp_path):
    headers = auth("admin")
    response = upload(client, headers, zip_folder(sample("1.1", tmp_path)), dry_run=True)
    job = client.get(f"{IMPORTS}/{response.json()['id']}", headers=headers).json()
    assert job["dry_run"] is True and job["report"]["counts"]["guardians"]["created"] == 6
    assert count_rows(session, "guardians") == 0 and count_rows(session, "schools") == 0


def test_a_failed_import_shows_why_and_changes_nothing(client, auth, session, tmp_path):
    headers = auth("admin")
    small = tmp_path / "small"
    small.mkdir()
    write_csv(small, "orgs.csv", "sourcedId,name,type\nsch-1,Hill School,school")
    header = "sourcedId,orgSourcedIds,role,givenName,familyName"
    rows = [f"s-{i},sch-1,student,Kid,N{i}" for i in range(30)]
    write_csv(small, "users.csv", "\n".join([header, *rows]))
    assert upload(client, headers, zip_folder(small)).status_code == 202
    write_csv(small, "users.csv", "\n".join([header, *rows[:3]]))  # a truncated export

    job_id = upload(client, headers, zip_folder(small)).json()["id"]

    job = client.get(f"{IMPORTS}/{job_id}", headers=headers).json()
    assert job["status"] == "failed" and job["report"] is None
    assert job["error"].startswith("This import would deactivate 27 of the 30 active students")
    assert count_rows(session, "students") == 30
    assert (
        session.scalar(select(AuditEvent.details).where(AuditEvent.object_id == str(job_id)))[
            "status"
        ]
        == "failed"
    )


def test_teachers_and_school_bound_keys_may_not_import_a_district_roster(
    client, auth, session, tmp_path
):
    school = SchoolFactory()
    teacher = StaffFactory(role="teacher", schools=[school])
    office = StaffFactory(role="office", schools=[school])
    data = zip_folder(sample("1.1", tmp_path))

    as_teacher = upload(client, auth("write", staff=teacher), data)
    assert as_teacher.status_code == 403
    assert as_teacher.json()["error"]["code"] == "forbidden"
    assert client.get(IMPORTS, headers=auth("read", staff=teacher)).status_code == 403
    as_office = upload(client, auth("write", staff=office), data)
    assert as_office.status_code == 403
    assert "district" in as_office.json()["error"]["message"]
    assert upload(client, auth("read"), data).status_code == 403  # no write scope
    assert count_rows(session, "roster_imports") == 0


def test_bad_uploads_get_a_clear_4xx_and_nothing_is_saved(client, auth, session, tmp_path):
    headers = auth("admin")
    not_zip = upload(client, headers, b"sourcedId,name\n1,x\n", name="users.csv")
    assert not_zip.status_code == 422
    assert not_zip.json()["error"]["code"] == "roster_invalid"
    assert "users.csv is not a .zip file" in not_zip.json()["error"]["message"]

    folder = sample("1.1", tmp_path)
    (folder / "users.csv").unlink()
    no_users = upload(client, headers, zip_folder(folder))
    assert no_users.status_code == 422
    assert "no users.csv" in no_users.json()["error"]["message"]

    folder = sample("1.2", tmp_path / "other")
    users = folder / "users.csv"
    users.write_text(users.read_text().replace("givenName,familyName", "firstName,familyName", 1))
    no_column = upload(client, headers, zip_folder(folder))
    assert no_column.status_code == 422
    assert no_column.json()["error"]["message"].startswith("users.csv has no 'givenName' column")

    folder = sample("1.1", tmp_path / "quote")
    classes = folder / "classes.csv"
    classes.write_text(classes.read_text() + 'cls-z,,,"Unclosed,03,,,,,sch-lincoln,,,,\n')
    broken = upload(client, headers, zip_folder(folder))
    assert broken.status_code == 422
    assert broken.json()["error"]["message"] == (
        "classes.csv line 6: a quoted field is never closed; the file was not imported."
    )

    no_file = client.post(IMPORTS, headers=headers, data={"mode": "bulk"})
    assert no_file.status_code == 422
    bad_mode = upload(client, headers, zip_folder(sample("1.1", tmp_path / "x")), mode="full")
    assert bad_mode.status_code == 422

    assert count_rows(session, "roster_imports") == 0
    assert count_rows(session, "schools") == 0


def test_roster_uploads_may_be_larger_than_other_requests(client, auth, tmp_path):
    headers = auth("admin")
    padding = bytes(range(256)) * 6000  # 1.5 MB, over the default 1 MB body limit
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for file in sorted(sample("1.1", tmp_path).iterdir()):
            archive.write(file, file.name)
        archive.writestr("README.txt", padding)
    assert upload(client, headers, buffer.getvalue()).status_code == 202
    elsewhere = client.post("/api/v1/guardians", headers=headers, content=padding)
    assert elsewhere.status_code == 413


def test_guardian_csv_upload_for_one_school(client, auth, session):
    school, other = SchoolFactory(default_language="es"), SchoolFactory()
    StudentFactory(school=school, external_id="S-1")
    office = StaffFactory(role="office", schools=[school])
    csv = "student_id,given_name,family_name,phone,email,language,relationship\n"
    csv += "S-1,Rosa,Ortiz,(512) 555-0180,,,mother\nS-404,No,Body,,,,\n"

    def send(headers, school_id, data=csv.encode(), name="guardians.csv"):
        return client.post(
            "/api/v1/roster/guardian-imports",
            headers=headers,
            files={"file": (name, data, "text/csv")},
            data={"school_id": str(school_id)},
        )

    response = send(auth("write", staff=office), school.id)
    assert response.status_code == 202, response.text
    job = client.get(
        f"{IMPORTS}/{response.json()['id']}", headers=auth("read", staff=office)
    ).json()
    assert job["status"] == "succeeded" and job["school_id"] == school.id
    assert job["report"]["counts"]["guardians"]["created"] == 1
    assert job["report"]["rejected"] == [
        {
            "entity": "guardians",
            "file": "guardians.csv",
            "line": 3,
            "sourced_id": None,
            "reason": f"no student of {school.name} has the id 'S-404'",
        }
    ]
    # The office of another school cannot see it, nor import into this school.
    stranger = StaffFactory(role="office", schools=[other])
    assert (
        client.get(f"{IMPORTS}/{job['id']}", headers=auth("read", staff=stranger)).status_code
        == 404
    )
    assert send(auth("write", staff=stranger), school.id).status_code == 404
    assert send(auth("admin"), school.id, zip_folder_bytes(), "x.zip").status_code == 422
    missing_column = send(auth("admin"), school.id, b"student_id,phone\nS-1,5125550180\n")
    assert missing_column.status_code == 422
    assert "no 'given_name' column" in missing_column.json()["error"]["message"]


@pytest.mark.parametrize("sender", ["office of the school", "key of the school", "district"])
def test_a_guardian_csv_reaches_another_schools_family_only_when_sent_district_wide(
    client, auth, session, sender
):
    """A file for one school names another school's parent by phone, and by email (made-up
    contacts). From anyone held to that school it changes, links and reactivates no one
    there: the rows are new families of the importing school. From a district-wide admin it
    is the same person, a sibling's parent, linked to both."""
    ours, theirs = SchoolFactory(), SchoolFactory()
    sam = StudentFactory(school=ours, external_id="S-1")
    hanna = StudentFactory(school=theirs, external_id="T-1")
    harold = GuardianFactory(
        students=[hanna],
        given_name="Harold",
        family_name="Hillparent",
        phone="+15125550901",
        email="harold@example.org",
        active=False,
    )
    csv = (
        "student_id,given_name,family_name,phone,email,language,relationship\n"
        "S-1,Harold,Hillparent,+15125550901,attacker@example.net,,guardian\n"
    )
    headers = {
        "office of the school": lambda: auth(
            "write", staff=StaffFactory(role="office", schools=[ours])
        ),
        "key of the school": lambda: auth("admin", school=ours),
        "district": lambda: auth("admin"),
    }[sender]()

    response = client.post(
        "/api/v1/roster/guardian-imports",
        headers=headers,
        files={"file": ("g.csv", csv.encode(), "text/csv")},
        data={"school_id": str(ours.id)},
    )

    assert response.status_code == 202, response.text
    job = client.get(f"{IMPORTS}/{response.json()['id']}", headers=headers).json()
    assert job["status"] == "succeeded", job
    session.expire_all()
    links = dict(
        session.execute(select(StudentGuardian.student_id, StudentGuardian.guardian_id)).all()
    )
    if sender == "district":
        assert (harold.active, harold.email) == (True, "attacker@example.net")
        assert links == {hanna.id: harold.id, sam.id: harold.id}
        return
    assert (harold.active, harold.email) == (False, "harold@example.org")
    assert links[hanna.id] == harold.id and links[sam.id] != harold.id
    made = session.get(Guardian, links[sam.id])
    assert made is not None
    assert (made.phone, made.email) == ("+15125550901", "attacker@example.net")


def zip_folder_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("guardians.csv", "student_id,given_name,family_name\n")
    return buffer.getvalue()


def test_an_upload_waits_while_another_import_runs_and_fails_when_it_gives_up(session):
    school = SchoolFactory()
    StudentFactory(school=school, external_id="S-1")
    running = RosterImport(
        kind="oneroster", status="running", started_at=utcnow(), actor="cli", filename="a.zip"
    )

    def queued() -> RosterImport:
        job = RosterImport(
            kind="guardians_csv",
            status="queued",
            school_id=school.id,
            actor="test",
            filename="g.csv",
            upload=b"student_id,given_name,family_name,phone\nS-1,Rosa,Ortiz,5125550180\n",
        )
        session.add(job)
        session.commit()
        return job

    session.add(running)
    waiting = queued()

    # A try while the other import runs fails as a whole (the queue retries it later)...
    with pytest.raises(ImportBusy):
        run_job("roster.import", waiting.id)
    session.refresh(waiting)
    assert waiting.status == "queued" and waiting.started_at is None
    # ...and the last try records why on the import itself.
    run_roster_import(session, waiting.id, task=SimpleNamespace(retries=0))
    session.commit()
    session.refresh(waiting)
    assert waiting.status == "failed" and waiting.upload is None
    assert waiting.error.endswith("is still running; try again when it is done. (gave up waiting)")
    assert count_rows(session, "guardians") == 0

    # Once the other import is done, a queued one runs.
    running.status = "succeeded"
    later = queued()
    run_job("roster.import", later.id)
    session.refresh(later)
    assert later.status == "succeeded", later.error
    assert count_rows(session, "guardians") == 1
