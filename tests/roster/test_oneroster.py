"""OneRoster 1.1 and 1.2 imports through real files and the real database."""

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.core.config import Settings
from app.delivery.models import OptOut
from app.people.models import Guardian, Staff, StaffSchool, Student, StudentGuardian
from app.roster import oneroster
from app.roster.parse import RosterFiles
from app.schools.models import Enrollment, School, Section, SectionTeacher
from tests.factories import GuardianFactory, SchoolFactory, StaffFactory, StudentFactory
from tests.roster.conftest import changed, edit_csv, rejected, run, sample, write_csv, zip_folder


def by_ext(session: Session, model) -> dict:
    return {
        row.external_id: row
        for row in session.scalars(select(model).where(model.external_id.is_not(None)))
    }


def links(session: Session) -> set[tuple[str, str, str]]:
    rows = session.execute(
        select(Student.external_id, Guardian.external_id, StudentGuardian.relationship)
        .select_from(StudentGuardian)
        .join(Student, Student.id == StudentGuardian.student_id)
        .join(Guardian, Guardian.id == StudentGuardian.guardian_id)
    )
    return {tuple(r) for r in rows}


def enrolled(session: Session) -> set[tuple[str, str]]:
    rows = session.execute(
        select(Section.external_id, Student.external_id)
        .select_from(Enrollment)
        .join(Section, Section.id == Enrollment.section_id)
        .join(Student, Student.id == Enrollment.student_id)
    )
    return {tuple(r) for r in rows}


def teaching(session: Session) -> set[tuple[str, str]]:
    rows = session.execute(
        select(Section.external_id, Staff.external_id)
        .select_from(SectionTeacher)
        .join(Section, Section.id == SectionTeacher.section_id)
        .join(Staff, Staff.id == SectionTeacher.staff_id)
    )
    return {tuple(r) for r in rows}


def staff_schools(session: Session) -> dict[str, set[str]]:
    result: dict[str, set[str]] = {}
    rows = session.execute(
        select(Staff.external_id, School.external_id)
        .select_from(StaffSchool)
        .join(Staff, Staff.id == StaffSchool.staff_id)
        .join(School, School.id == StaffSchool.school_id)
    )
    for staff, school in rows:
        result.setdefault(staff, set()).add(school)
    return result


def active(session: Session, model) -> dict[str, bool]:
    return {ext: row.active for ext, row in by_ext(session, model).items()}


# 1. The realistic samples land in the right places -------------------------------------------


def test_oneroster_1_1_zip_imports_schools_sections_people_and_links(session, tmp_path):
    archive = tmp_path / "rusd-oneroster.zip"
    # SIS exports often zip a folder; Hearth finds the files inside it.
    archive.write_bytes(zip_folder(sample("1.1", tmp_path), inside="export-2026-11-22/"))

    job = run(session, archive)

    assert job.report["format"] == "OneRoster 1.1 CSV"
    assert changed(job) == {
        "schools": {"created": 2},
        "sections": {"created": 4},
        "teachers": {"created": 3},
        "students": {"created": 6},
        "guardians": {"created": 6},
        "links": {"created": 8},
        "enrollments": {"created": 12},
    }
    assert job.report["ignored"] == {
        "enrollments.csv: role aide": 1,
        "links: to a user with role relative": 1,
        "orgs.csv: type district": 1,
        "users.csv: role aide": 1,
        "users.csv: role relative (HEARTH_ROSTER_IMPORT_RELATIVES is off)": 1,
    }
    schools = by_ext(session, School)
    assert {k: s.name for k, s in schools.items()} == {
        "sch-lincoln": "Lincoln Elementary School",
        "sch-jefferson": "Jefferson Middle School",
    }
    sections = by_ext(session, Section)
    assert {k: (s.name, s.school_id) for k, s in sections.items()} == {
        "cls-3a": ("Grade 3 – Room 12", schools["sch-lincoln"].id),
        "cls-4b": ("Grade 4 – Room 7", schools["sch-lincoln"].id),
        "cls-m7-2": ("Math 7 – Period 2", schools["sch-jefferson"].id),
        "cls-s7-4": ("Science 7 – Period 4", schools["sch-jefferson"].id),
    }
    staff = by_ext(session, Staff)
    assert sorted(staff) == ["t-chen", "t-okafor", "t-rivera"]  # not the aide
    assert (staff["t-rivera"].name, staff["t-rivera"].email, staff["t-rivera"].role) == (
        "Ana Rivera",
        "ana.rivera@riverside.example.org",
        "teacher",
    )
    assert staff_schools(session) == {
        "t-rivera": {"sch-lincoln"},
        "t-chen": {"sch-lincoln"},
        "t-okafor": {"sch-jefferson"},
    }
    students = by_ext(session, Student)
    assert {
        k: (s.given_name, s.family_name, s.grade, s.school_id) for k, s in students.items()
    } == {
        "s-sofia": ("Sofía", "García", "03", schools["sch-lincoln"].id),
        "s-mateo": ("Mateo", "García", "07", schools["sch-jefferson"].id),
        "s-an": ("An", "Nguyễn", "04", schools["sch-lincoln"].id),
        "s-yusuf": ("Yusuf", "Hassan", "07", schools["sch-jefferson"].id),
        "s-amina": ("Amina", "Abdi", "03", schools["sch-lincoln"].id),
        "s-wei": ("Wei", "Zhang", "04", schools["sch-lincoln"].id),
    }
    guardians = by_ext(session, Guardian)
    assert {
        k: (g.phone, g.email, g.language, g.language_confirmed, g.channels)
        for k, g in guardians.items()
    } == {
        "p-maria": ("+15125550142", "maria.garcia@example.com", "es", False, ["sms"]),
        # No language anywhere: the school's default, marked not confirmed.
        "p-jose": ("+15125550143", None, "en", False, ["sms"]),
        "p-lan": ("+15125550150", None, "vi", False, ["sms"]),
        "p-fatima": ("+15125550160", None, "ar", False, ["sms"]),
        # The home language given on the student's row.
        "p-hodan": ("+15125550170", None, "so", False, ["sms"]),
        "p-li": (None, "li.zhang@example.com", "zh-Hans", False, ["email"]),
    }
    assert links(session) == {
        ("s-sofia", "p-maria", "guardian"),
        ("s-sofia", "p-jose", "guardian"),
        ("s-mateo", "p-maria", "guardian"),
        ("s-mateo", "p-jose", "guardian"),  # given on the guardian's row only
        ("s-an", "p-lan", "guardian"),  # given on the guardian's row only
        ("s-yusuf", "p-fatima", "guardian"),  # given on both rows: one link
        ("s-amina", "p-hodan", "guardian"),
        ("s-wei", "p-li", "guardian"),
    }
    assert enrolled(session) == {
        ("cls-3a", "s-sofia"),
        ("cls-3a", "s-amina"),
        ("cls-4b", "s-an"),
        ("cls-4b", "s-wei"),
        ("cls-m7-2", "s-mateo"),
        ("cls-m7-2", "s-yusuf"),
        ("cls-s7-4", "s-mateo"),
        ("cls-s7-4", "s-yusuf"),
    }
    assert teaching(session) == {
        ("cls-3a", "t-rivera"),
        ("cls-4b", "t-chen"),
        ("cls-m7-2", "t-okafor"),
        ("cls-s7-4", "t-okafor"),
    }


def test_oneroster_1_2_folder_with_roles_csv(session, tmp_path):
    job = run(session, sample("1.2", tmp_path))

    assert job.report["format"] == "OneRoster 1.2 CSV"
    assert changed(job) == {
        "schools": {"created": 2},
        "sections": {"created": 3},
        "teachers": {"created": 3},
        "students": {"created": 5},
        "guardians": {"created": 5},
        "links": {"created": 7},
        "enrollments": {"created": 10},
    }
    assert job.report["ignored"] == {
        "enrollments.csv: endDate has passed": 1,
        "orgs.csv: type district": 1,
        "users.csv: role principal": 1,
    }
    schools = by_ext(session, School)
    sections = by_ext(session, Section)
    # A class without a title is named after its course.
    assert {k: s.name for k, s in sections.items()} == {
        "cls-2a": "Grade 2 – Room 3",
        "cls-alg": "Algebra II – P1",
        "cls-bio": "Biology",
    }
    students = by_ext(session, Student)
    assert students["s-200"].given_name == "Vale"  # preferredGivenName
    assert (students["s-201"].school_id, students["s-201"].grade) == (
        schools["sch-cedar"].id,
        "10",
    )
    # Roles live in roles.csv: a teacher with a secondary role at a second school, and a
    # teacher who is also a parent (a Staff and a Guardian with the same sourcedId).
    assert staff_schools(session) == {
        "t-100": {"sch-oak"},
        "t-101": {"sch-oak"},
        "t-102": {"sch-cedar", "sch-oak"},
    }
    guardians = by_ext(session, Guardian)
    assert sorted(guardians) == ["g-300", "g-301", "g-302", "g-304", "t-101"]
    assert guardians["t-101"].phone == "+15125550190"
    assert (guardians["g-302"].language, guardians["g-302"].phone) == ("vi", "+15125550182")
    assert (guardians["g-304"].language, guardians["g-304"].channels) == ("so", ["email"])
    assert links(session) == {
        ("s-200", "g-300", "guardian"),
        ("s-201", "g-300", "guardian"),
        ("s-201", "g-301", "guardian"),
        ("s-200", "g-301", "guardian"),  # guardian side only
        ("s-202", "g-302", "guardian"),  # guardian side only
        ("s-203", "t-101", "guardian"),
        ("s-204", "g-304", "guardian"),
    }
    # en-10 ended before today: Diego is no longer in Biology.
    assert enrolled(session) == {
        ("cls-2a", "s-200"),
        ("cls-2a", "s-202"),
        ("cls-2a", "s-203"),
        ("cls-alg", "s-201"),
        ("cls-alg", "s-204"),
        ("cls-bio", "s-204"),
    }
    assert ("cls-2a", "t-102") in teaching(session)


# 2. Importing the same files again changes nothing --------------------------------------------


def test_second_import_of_the_same_files_reports_everything_unchanged(session, tmp_path):
    for version in ("1.1", "1.2"):
        folder = sample(version, tmp_path)
        first = run(session, folder)
        maria = session.scalars(select(Guardian).order_by(Guardian.id)).first()
        stamp = maria.updated_at

        second = run(session, folder)

        for entity, row in second.report["counts"].items():
            assert row["created"] == row["updated"] == row["deactivated"] == 0, entity
            assert row["rejected"] == 0, entity
            assert row["unchanged"] == first.report["counts"][entity]["created"], entity
        session.refresh(maria)
        assert maria.updated_at == stamp  # nothing was written


# 3. Delta files, tobedeleted, and what the families and schools set --------------------------


def test_delta_tobedeleted_deactivates_exactly_those_records(session, tmp_path):
    run(session, sample("1.2", tmp_path))
    delta = tmp_path / "delta"
    delta.mkdir()
    write_csv(
        delta,
        "manifest.csv",
        """
propertyName,value
manifest.version,1.0
oneroster.version,1.2
file.orgs,absent
file.academicSessions,absent
file.courses,absent
file.classes,delta
file.users,delta
file.roles,absent
file.enrollments,delta
""",
    )
    # Rows as the SIS sends them the next night: two people leaving, a new phone number, a
    # class dropped, one student out of one class.
    write_csv(
        delta,
        "users.csv",
        "\n".join(
            [
                fixture_row("users.csv"),
                fixture_row("users.csv", "s-202").replace(",active,", ",tobedeleted,"),
                fixture_row("users.csv", "g-302").replace(",active,", ",tobedeleted,"),
                fixture_row("users.csv", "g-300").replace("(512) 555-0180", "(512) 555-0188"),
            ]
        ),
    )
    write_csv(
        delta,
        "classes.csv",
        fixture_row("classes.csv")
        + "\n"
        + fixture_row("classes.csv", "cls-bio").replace(",active,", ",tobedeleted,"),
    )
    write_csv(
        delta,
        "enrollments.csv",
        fixture_row("enrollments.csv")
        + "\n"
        + fixture_row("enrollments.csv", "en-8").replace(",active,", ",tobedeleted,"),
    )

    job = run(session, delta)

    assert job.report["files"]["users.csv"]["mode"] == "delta"
    assert changed(job) == {
        "sections": {"deactivated": 1},
        "students": {"deactivated": 1},
        "guardians": {"updated": 1, "deactivated": 1},
        "enrollments": {"deactivated": 1},
    }
    assert active(session, Student) == {
        "s-200": True,
        "s-201": True,
        "s-202": False,
        "s-203": True,
        "s-204": True,
    }
    assert active(session, Guardian) == {
        "g-300": True,
        "g-301": True,
        "g-302": False,
        "g-304": True,
        "t-101": True,
    }
    assert by_ext(session, Guardian)["g-300"].phone == "+15125550188"
    assert active(session, Section) == {"cls-2a": True, "cls-alg": True, "cls-bio": False}
    assert ("cls-alg", "s-204") not in enrolled(session)
    assert len(enrolled(session)) == 5
    assert all(t.active for t in by_ext(session, Staff).values())
    # Deactivated, not deleted: the family's history stays readable.
    assert ("s-202", "g-302", "guardian") in links(session)


def test_hand_set_language_channels_and_opt_out_survive_a_reimport(session, client, auth, tmp_path):
    folder = sample("1.1", tmp_path)
    run(session, folder)
    guardians = by_ext(session, Guardian)
    maria, lan = guardians["p-maria"], guardians["p-lan"]
    headers = auth("admin")
    response = client.patch(
        f"/api/v1/guardians/{maria.id}",
        headers=headers,
        json={"language": "pt-BR", "channels": ["sms", "email"]},
    )
    assert response.status_code == 200, response.text
    # Lan texted STOP to the school's number (the delivery domain's table, keyed by phone).
    opt_out = OptOut(phone=lan.phone, sender="+15125550100", keyword="STOP")
    session.add(opt_out)
    session.commit()
    before = {g.external_id: (g.id, g.created_at) for g in by_ext(session, Guardian).values()}

    # The SIS changes María's phone and language and José's language.
    users = folder / "users.csv"
    text = users.read_text(encoding="utf-8")
    text = text.replace("(512) 555-0142,,,,,Spanish", "(512) 555-0199,,,,,fr")
    text = text.replace("512.555.0143,s-mateo,,,", "512.555.0143,s-mateo,,,es")
    users.write_text(text, encoding="utf-8")
    job = run(session, folder)

    assert changed(job)["guardians"] == {"updated": 2, "unchanged": 4}
    guardians = by_ext(session, Guardian)
    maria = guardians["p-maria"]
    session.refresh(maria)
    assert maria.phone == "+15125550199"  # roster field: follows the SIS
    assert (maria.language, maria.language_confirmed) == ("pt-BR", True)  # set by a person
    assert (maria.channels, maria.channels_confirmed) == (["sms", "email"], True)
    assert (guardians["p-jose"].language, guardians["p-jose"].language_confirmed) == ("es", False)
    session.refresh(opt_out)
    assert opt_out.active and opt_out.phone == guardians["p-lan"].phone
    after = {g.external_id: (g.id, g.created_at) for g in by_ext(session, Guardian).values()}
    assert after == before  # same people, same rows


# 4. Bad rows are reported with file, line and reason; the good rows go in ---------------------


def test_bad_rows_are_rejected_with_file_line_and_reason(session, tmp_path):
    folder = sample("1.1", tmp_path)
    edit_csv(
        folder,
        "users.csv",
        add="""
p-bad,,,false,sch-lincoln,parent,,,Rita,Moreno,,,,555-12,,s-wei,,,
s-wei,,,true,sch-lincoln,student,wzhang2,,Wei,Zhang,,100415,,,,,04,,
t-noemail,,,true,sch-lincoln,teacher,spark,,Sam,Park,,T9,,,,,,,
s-nowhere,,,true,dist-1,student,klee,,Kim,Lee,,100998,,,,,05,,
s-noor,,,true,sch-lincoln,student,nali,,Noor,Ali,,100999,,,,p-ghost,04,,
s-odd,bogus,,true,sch-lincoln,student,odd,,Odd,Row,,100997,,,,,04,,
s-ragged,,,true,sch-lincoln,student,rag,,Rag,Ged,,100996,,,,,04,,,extra
""",
    )
    edit_csv(folder, "classes.csv", add="cls-x,,,Art,03,,ART,scheduled,,sch-nowhere,,,,")
    edit_csv(
        folder,
        "enrollments.csv",
        add="""
e-90,,,cls-3a,sch-lincoln,s-missing,student,false,,
e-91,,,cls-missing,sch-lincoln,s-sofia,student,false,,
e-92,,,cls-x,sch-lincoln,s-sofia,student,false,,
e-01,,,cls-4b,sch-lincoln,s-sofia,student,false,,
e-93,,,cls-4b,sch-lincoln,p-maria,student,false,,
e-94,,,cls-4b,sch-lincoln,t-noemail,teacher,false,,
""",
    )

    job = run(session, folder)

    assert rejected(job) == [
        ("classes.csv", 6, "schoolSourcedId 'sch-nowhere' is not a school in orgs.csv"),
        ("users.csv", 19, "sms '555-12' is not a valid phone number"),
        ("users.csv", 20, "duplicate sourcedId (first on line 11)"),
        (
            "users.csv",
            21,
            "a teacher needs an email address (staff sign in with it); email is empty",
        ),
        ("users.csv", 24, "status 'bogus' is not active or tobedeleted"),
        ("users.csv", 25, "the row has 20 fields but the header has 19"),
        ("users.csv", 22, "none of its orgs (dist-1) is a school in orgs.csv"),
        ("users.csv", 23, "agentSourcedIds: guardian 'p-ghost' is not in users.csv"),
        ("enrollments.csv", 15, "student 's-missing' is not in users.csv"),
        ("enrollments.csv", 16, "classSourcedId 'cls-missing' is not in classes.csv"),
        ("enrollments.csv", 17, "class 'cls-x' was rejected (classes.csv line 6)"),
        ("enrollments.csv", 18, "duplicate sourcedId (first on line 2)"),
        ("enrollments.csv", 19, "'p-maria' is not a student (role: parent)"),
        ("enrollments.csv", 20, "teacher 't-noemail' was rejected (users.csv line 21)"),
    ]
    assert job.report["rejected_total"] == 14
    counts = job.report["counts"]
    assert counts["students"]["created"] == 7  # the sample's six and Noor
    assert counts["students"]["rejected"] == 3  # (the ragged row counts under "users")
    assert counts["users"]["rejected"] == 1
    assert counts["guardians"] == {
        "created": 6,
        "updated": 0,
        "deactivated": 0,
        "unchanged": 0,
        "rejected": 1,
    }
    assert counts["enrollments"]["created"] == 12 and counts["enrollments"]["rejected"] == 6
    assert "s-noor" in by_ext(session, Student) and "p-bad" not in by_ext(session, Guardian)


# Bulk mode: what is missing is deactivated, never deleted ------------------------------------


def test_bulk_deactivates_what_is_missing_and_keeps_the_history(session, tmp_path):
    folder = sample("1.1", tmp_path)
    run(session, folder)
    edit_csv(folder, "users.csv", drop=("s-wei", "p-li"))
    users = folder / "users.csv"
    users.write_text(
        users.read_text(encoding="utf-8").replace('"p-maria,p-jose",03', "p-maria,03"),
        encoding="utf-8",
    )
    edit_csv(folder, "enrollments.csv", drop=("e-06", "e-12"))

    job = run(session, folder)

    assert changed(job) == {
        "schools": {"unchanged": 2},
        "sections": {"unchanged": 4},
        "teachers": {"unchanged": 3},
        "students": {"deactivated": 1, "unchanged": 5},
        "guardians": {"deactivated": 1, "unchanged": 5},
        # Sofía no longer lists José, and José does not list her: unlinked.
        "links": {"deactivated": 1, "unchanged": 6},
        # Yusuf left Science; Wei's row is kept with Wei (deactivated, not in the files).
        "enrollments": {"deactivated": 1, "unchanged": 10},
    }
    assert not active(session, Student)["s-wei"] and not active(session, Guardian)["p-li"]
    assert ("s-wei", "p-li", "guardian") in links(session)
    assert ("s-sofia", "p-jose", "guardian") not in links(session)
    assert ("cls-s7-4", "s-yusuf") not in enrolled(session)
    assert ("cls-4b", "s-wei") in enrolled(session)


def test_a_bulk_import_that_would_deactivate_most_of_a_school_is_refused(session, tmp_path):
    folder = tmp_path / "small"
    folder.mkdir()
    write_csv(
        folder,
        "orgs.csv",
        "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
        "sch-1,,,Hill School,school,,",
    )
    header = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,"
    header += "givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades"
    rows = [f"s-{i},,,true,sch-1,student,,,Kid,Number{i},,,,,,,05" for i in range(40)]
    write_csv(folder, "users.csv", "\n".join([header, *rows]))
    run(session, folder)
    write_csv(folder, "users.csv", "\n".join([header, *rows[:20]]))

    refused = oneroster_import(session, folder)

    assert refused.status == "failed"
    assert "would deactivate 20 of the 40 active students of Hill School" in refused.error
    assert all(active(session, Student).values())
    forced = run(session, folder, force=True)
    assert forced.report["counts"]["students"]["deactivated"] == 20


def oneroster_import(session, folder: Path, **options):
    from app.roster import service

    return service.import_oneroster_path(session, folder, **options)


# Dry run, audit, adoption of what was made by hand, settings ---------------------------------


def test_dry_run_reports_but_saves_nothing_and_is_audited(session, tmp_path):
    job = run(session, sample("1.2", tmp_path), dry_run=True)

    assert job.report["dry_run"] is True
    assert job.report["counts"]["students"]["created"] == 5
    assert by_ext(session, Student) == {} and by_ext(session, School) == {}
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "roster.import")).one()
    assert event.object_id == str(job.id) and event.actor == "cli"
    assert event.details["dry_run"] is True and event.details["counts"]["students"] == {
        "created": 5
    }


def test_rows_made_by_hand_before_the_first_import_are_adopted_not_duplicated(session, tmp_path):
    lincoln = SchoolFactory(name="Lincoln Elementary School", default_language="es")
    office = StaffFactory(email="ana.rivera@riverside.example.org", role="office")
    sofia = StudentFactory(school=lincoln, external_id="100234")  # her student number
    maria = GuardianFactory(
        students=[sofia], phone="+15125550142", language="es-MX", language_confirmed=True
    )

    job = run(session, sample("1.1", tmp_path))

    assert job.report["counts"]["schools"]["updated"] == 1
    assert by_ext(session, School)["sch-lincoln"].id == lincoln.id
    staff = by_ext(session, Staff)["t-rivera"]
    assert (staff.id, staff.role) == (office.id, "office")  # a role is never changed
    assert by_ext(session, Student)["s-sofia"].id == sofia.id
    adopted = by_ext(session, Guardian)["p-maria"]
    assert (adopted.id, adopted.language) == (maria.id, "es-MX")
    assert len(session.scalars(select(Guardian)).all()) == 6


def test_relatives_and_the_language_column_follow_the_settings(session, tmp_path):
    folder = sample("1.1", tmp_path)
    users = folder / "users.csv"
    users.write_text(
        users.read_text(encoding="utf-8").replace("metadata.language", "metadata.homeLanguage"),
        encoding="utf-8",
    )
    settings = Settings(
        roster_import_relatives=True, roster_language_column="metadata.homeLanguage"
    )

    oneroster.import_oneroster(session, RosterFiles.from_path(folder), settings)

    guardians = by_ext(session, Guardian)
    assert guardians["r-ahmed"].language == "so"
    assert guardians["p-maria"].language == "es"
    assert ("s-amina", "r-ahmed", "other") in links(session)


FIXTURES_12 = Path(__file__).parent / "fixtures" / "oneroster-1.2"


def fixture_row(name: str, sourced_id: str | None = None) -> str:
    """A line of the 1.2 sample: its header, or the row of `sourced_id`."""
    lines = (FIXTURES_12 / name).read_text(encoding="utf-8").splitlines()
    if sourced_id is None:
        return lines[0]
    return next(line for line in lines if line.startswith(f"{sourced_id},"))


def test_without_manifest_with_mode_override_and_a_student_who_leaves_and_returns(
    session, tmp_path
):
    folder = sample("1.1", tmp_path)
    (folder / "manifest.csv").unlink()  # some exports leave it out: 1.1, bulk
    assert run(session, folder).report["format"] == "OneRoster 1.1 CSV"
    edit_csv(folder, "users.csv", drop=("s-wei",))
    edit_csv(folder, "enrollments.csv", drop=("e-06",))
    assert "deactivated" not in str(changed(run(session, folder, mode="delta")))
    (folder / "orgs.csv").unlink()  # bulk scope: the schools of the files' students and classes
    assert changed(run(session, folder))["students"] == {"deactivated": 1, "unchanged": 5}

    users = folder / "users.csv"
    users.write_text(users.read_text(encoding="utf-8").replace("s-an,,,", "s-an,tobedeleted,,"))
    leaving = run(session, folder)
    assert changed(leaving)["students"] == {"deactivated": 1, "unchanged": 4}
    assert leaving.report["ignored"]["enrollments.csv: the student is marked tobedeleted"] == 1
    assert ("cls-4b", "s-an") in enrolled(session)  # kept with her, as history
    users.write_text(users.read_text(encoding="utf-8").replace("s-an,tobedeleted,,", "s-an,,,"))
    back = run(session, folder)
    assert changed(back)["students"] == {"updated": 1, "unchanged": 4}
    assert active(session, Student)["s-an"] is True
