"""The staff pages find people without their accents and in any case (app/people/search.py):
the families page, the teacher's student picker, the staff list."""

from tests.factories import (
    GuardianFactory,
    SchoolFactory,
    SectionFactory,
    StaffFactory,
    StudentFactory,
)


def test_pages_find_without_accents(session, signed_in):
    school = SchoolFactory()
    teacher = StaffFactory(schools=[school], role="teacher", name="Ana Rivera")
    # Named, not left to the factory's turn of names: the page names the one signed in, and
    # "Ana Rivera" must be absent from it only because the search leaves her out.
    office = StaffFactory(schools=[school], role="office", name="Ngozi Okafor")
    admin = StaffFactory(role="admin", name="David Chen")
    student = StudentFactory(school=school, given_name="Minh", family_name="Nguyễn")
    SectionFactory(school=school, teachers=[teacher], students=[student])
    GuardianFactory(students=[student], given_name="Lan", family_name="Trần")
    StaffFactory(schools=[school], name="José García")
    session.commit()

    families = signed_in(office).get("/families", params={"q": "tran"})
    assert families.status_code == 200 and "Lan Trần" in families.text
    # Through her child's name, too.
    assert "Lan Trần" in signed_in(office).get("/families", params={"q": "NGUYEN"}).text

    picker = signed_in(teacher).client.get(
        "/compose/students", params={"q": "nguyen"}, headers={"hx-request": "true"}
    )
    assert picker.status_code == 200 and "Minh Nguyễn" in picker.text

    staff = signed_in(admin).get("/admin/staff", params={"q": "garcia"})
    assert staff.status_code == 200
    assert "José García" in staff.text and "Ana Rivera" not in staff.text
