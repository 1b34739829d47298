"""Plain CSV import of guardians, for schools without OneRoster."""

from sqlalchemy import select

from app.people.models import Guardian, StudentGuardian
from app.roster import service
from tests.factories import GuardianFactory, SchoolFactory, StudentFactory
from tests.roster.conftest import changed, rejected

CSV = """student_id,given_name,family_name,phone,email,language,relationship
S1,Rosa,Ortiz,(512) 555-0180,,Spanish,mother
S2,Rosa,Ortiz,512-555-0180,,es,Mom
S2,Luis,Ortiz,,luis.ortiz@example.com,,father
S3,Hodan,Warsame,512 555 0170,,en,
S9,Ghost,Parent,5125550111,,,
S1,Bad,Phone,555-12,,,
S1,Odd,Relation,5125550112,,,cousin
S1,Lang,Unknown,5125550113,,Klingon,grandmother
"""


def test_guardian_csv_creates_links_and_reuses_people(session, tmp_path):
    school = SchoolFactory(default_language="en")
    s1, s2, s3 = (StudentFactory(school=school, external_id=f"S{i}") for i in (1, 2, 3))
    # Set by hand: the family told the office they read Somali.
    hodan = GuardianFactory(
        students=[s3],
        given_name="Hodan",
        family_name="Warsame",
        phone="+15125550170",
        email=None,
        language="so",
        language_confirmed=True,
    )
    path = tmp_path / "guardians.csv"
    path.write_text(CSV, encoding="utf-8")

    job = service.import_guardians_path(session, path, school_id=school.id)

    assert job.status == "succeeded", job.error
    assert changed(job) == {
        "guardians": {"created": 3, "unchanged": 1, "rejected": 3},
        "links": {"created": 4, "unchanged": 1},
    }
    assert rejected(job) == [
        ("guardians.csv", 6, f"no student of {school.name} has the id 'S9'"),
        ("guardians.csv", 7, "'555-12' is not a valid phone number"),
        (
            "guardians.csv",
            8,
            "relationship 'cousin' is not one of mother, father, grandparent, guardian, other",
        ),
    ]
    assert [w["reason"] for w in job.report["warnings"]] == [
        "language 'Klingon' is not one Hearth knows"
    ]
    people = {
        (g.given_name, g.family_name): g
        for g in session.scalars(select(Guardian).order_by(Guardian.id))
    }
    rosa = people[("Rosa", "Ortiz")]
    assert (rosa.phone, rosa.language, rosa.channels) == ("+15125550180", "es", ["sms"])
    assert people[("Luis", "Ortiz")].channels == ["email"]
    assert people[("Lang", "Unknown")].language == "en"  # the school's default
    assert people[("Hodan", "Warsame")].id == hodan.id
    assert people[("Hodan", "Warsame")].language == "so"  # confirmed by a person: kept
    pairs = {
        tuple(row)
        for row in session.execute(
            select(
                StudentGuardian.student_id, Guardian.given_name, StudentGuardian.relationship
            ).join(Guardian, Guardian.id == StudentGuardian.guardian_id)
        )
    }
    assert pairs == {
        (s1.id, "Rosa", "mother"),
        (s2.id, "Rosa", "mother"),
        (s2.id, "Luis", "father"),
        (s3.id, "Hodan", "mother"),  # blank relationship: the existing one stays
        (s1.id, "Lang", "grandparent"),
    }

    again = service.import_guardians_path(session, path, school_id=school.id)

    assert changed(again) == {
        "guardians": {"unchanged": 4, "rejected": 3},
        "links": {"unchanged": 5},
    }


def test_guardian_csv_dry_run_saves_nothing(session, tmp_path):
    school = SchoolFactory()
    StudentFactory(school=school, external_id="S1")
    path = tmp_path / "g.csv"
    path.write_text(CSV.splitlines()[0] + "\nS1,Rosa,Ortiz,5125550180,,,\n")
    job = service.import_guardians_path(session, path, school_id=school.id, dry_run=True)
    assert job.report["counts"]["guardians"]["created"] == 1
    assert session.scalars(select(Guardian)).all() == []
