"""People are found without their accents and in any case, through the API, the pages and
after a roster import: the search key every write fills."""

from sqlalchemy import select

from app.people.models import Guardian
from app.people.search import normalized
from app.roster import service as roster
from tests.factories import (
    GuardianFactory,
    SchoolFactory,
    StaffFactory,
    StudentFactory,
)


def test_normalized_is_ascii_casefolded_single_spaced():
    assert normalized("  Nguyễn   Thị  ") == "nguyen thi"
    assert normalized("GARCÍA") == "garcia"
    assert normalized("Trần") == "tran"
    assert normalized("Straße") == "strasse"


def _people(session):
    school = SchoolFactory()
    student = StudentFactory(school=school, given_name="Sofía", family_name="García")
    garcia = GuardianFactory(students=[student], given_name="María", family_name="García")
    tran = GuardianFactory(students=[student], given_name="Lan", family_name="Trần")
    nguyen = GuardianFactory(
        students=[student], given_name="Bảo", family_name="Nguyễn", email="BAO@Example.org"
    )
    other = GuardianFactory(students=[student], given_name="Sarah", family_name="Miller")
    session.commit()
    return school, student, {"garcia": garcia, "tran": tran, "nguyen": nguyen, "other": other}


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def test_guardians_api_finds_names_without_accents_in_any_case(client, auth, session):
    _, _, g = _people(session)
    headers = auth("admin")

    def found(q: str) -> set[int]:
        return _ids(client.get("/api/v1/guardians", params={"q": q}, headers=headers))

    assert found("Garcia") == {g["garcia"].id}
    assert found("garcía") == {g["garcia"].id}
    assert found("Tran") == {g["tran"].id}
    assert found("nguyen") == {g["nguyen"].id}
    assert found("NGUYỄN bao") == {g["nguyen"].id}
    assert found("bao@example") == {g["nguyen"].id}  # emails too, in any case
    assert found(g["tran"].phone[-7:]) == {g["tran"].id}  # and phone numbers
    assert found("Garciax") == set()
    assert found("100%") == set()  # LIKE characters are only characters


def test_students_and_staff_api_find_without_accents(client, auth, session):
    school, student, _ = _people(session)
    StudentFactory(school=school, given_name="Hao", family_name="Zhang")
    teacher = StaffFactory(schools=[school], name="Đặng Thu Hà")
    session.commit()
    headers = auth("admin")
    assert _ids(client.get("/api/v1/students", params={"q": "sofia garcia"}, headers=headers)) == {
        student.id
    }
    staff = _ids(client.get("/api/v1/staff", params={"q": "dang thu"}, headers=headers))
    assert staff == {teacher.id}


def test_an_edit_refreshes_the_key(client, auth, session):
    _, _, g = _people(session)
    headers = auth("admin")
    changed = client.patch(
        f"/api/v1/guardians/{g['other'].id}", json={"family_name": "Muñoz"}, headers=headers
    )
    assert changed.status_code == 200, changed.text
    assert _ids(client.get("/api/v1/guardians", params={"q": "munoz"}, headers=headers)) == {
        g["other"].id
    }
    assert _ids(client.get("/api/v1/guardians", params={"q": "miller"}, headers=headers)) == set()


def test_a_roster_import_fills_and_refreshes_keys(session, tmp_path):
    school = SchoolFactory(default_language="en")
    StudentFactory(school=school, external_id="S1")
    session.commit()
    path = tmp_path / "guardians.csv"
    path.write_text(
        "student_id,given_name,family_name,phone,email,language,relationship\n"
        "S1,Thị,Nguyễn,(512) 555-0180,,vi,mother\n",
        encoding="utf-8",
    )
    job = roster.import_guardians_path(session, path, school_id=school.id)
    assert job.status == "succeeded", job.error
    session.commit()
    guardian = session.scalar(select(Guardian).where(Guardian.phone == "+15125550180"))
    assert guardian.search_key == "thi nguyen +15125550180"
    # The same family again with the name's spelling changed: a bulk UPDATE, key made again.
    path.write_text(path.read_text(encoding="utf-8").replace("Nguyễn", "Trần"), encoding="utf-8")
    job = roster.import_guardians_path(session, path, school_id=school.id)
    assert job.status == "succeeded", job.error
    session.commit()
    session.refresh(guardian)
    assert guardian.family_name == "Trần" and guardian.search_key == "thi tran +15125550180"
