"""Every key and every person stays inside their school: staff accounts and schools are written
only under the one rule (AuthSubject.require_staff_write / require_district_admin), and a
refused write changes nothing."""

import pytest
from sqlalchemy import func, select

from app.core.security import verify_password
from app.people.models import Staff, StaffSchool
from app.schools.models import School
from tests.factories import SchoolFactory, StaffFactory

PASSWORD = "a brand new password"


@pytest.fixture
def two_schools(session):
    north, south = SchoolFactory(name="North"), SchoolFactory(name="South")
    shared = StaffFactory(role="teacher", schools=[north, south], password_hash="x")
    north_only = StaffFactory(role="teacher", schools=[north], password_hash="x")
    office = StaffFactory(role="office", schools=[north])
    district_admin = StaffFactory(role="admin")
    session.flush()
    return {
        "north": north,
        "south": south,
        "shared": shared,
        "north_only": north_only,
        "office": office,
        "district_admin": district_admin,
    }


def _snapshot(session) -> tuple:
    staff = session.execute(
        select(Staff.id, Staff.role, Staff.active, Staff.password_hash).order_by(Staff.id)
    ).all()
    links = session.execute(
        select(StaffSchool.staff_id, StaffSchool.school_id).order_by(
            StaffSchool.staff_id, StaffSchool.school_id
        )
    ).all()
    return staff, links, session.scalar(select(func.count()).select_from(School))


def test_a_school_restricted_admin_key_cannot_make_admins_or_schools(
    client, auth, session, two_schools
):
    headers = auth("admin", school=two_schools["north"])
    before = _snapshot(session)
    created = client.post(
        "/api/v1/staff",
        headers=headers,
        json={"name": "Mallory", "email": "mallory@example.org", "role": "admin"},
    )
    assert created.status_code == 403, created.text
    assert "district-wide admin" in created.json()["error"]["message"]
    promoted = client.patch(
        f"/api/v1/staff/{two_schools['north_only'].id}", headers=headers, json={"role": "admin"}
    )
    assert promoted.status_code == 403, promoted.text
    school = client.post("/api/v1/schools", headers=headers, json={"name": "Elsewhere"})
    assert school.status_code == 403, school.text
    assert _snapshot(session) == before


def test_a_school_restricted_admin_key_manages_its_own_schools_staff(
    client, auth, session, two_schools
):
    headers = auth("admin", school=two_schools["north"])
    created = client.post(
        "/api/v1/staff",
        headers=headers,
        json={
            "name": "New Teacher",
            "email": "new.teacher@example.org",
            "role": "teacher",
            "school_ids": [two_schools["north"].id],
        },
    )
    assert created.status_code == 201, created.text
    renamed = client.patch(
        f"/api/v1/staff/{two_schools['north_only'].id}", headers=headers, json={"name": "Renamed"}
    )
    assert renamed.status_code == 200, renamed.text
    # ...but not into a school that is not theirs
    moved = client.patch(
        f"/api/v1/staff/{two_schools['north_only'].id}",
        headers=headers,
        json={"school_ids": [two_schools["north"].id, two_schools["south"].id]},
    )
    assert moved.status_code == 403


@pytest.mark.parametrize(
    "change",
    [{"password": PASSWORD}, {"school_ids": []}, {"active": False}, {"role": "office"}],
    ids=["password", "schools", "deactivate", "role"],
)
def test_office_staff_cannot_take_over_a_colleague(client, auth, session, two_schools, change):
    """Not a colleague shared with another school, and (as in the web app) not even one of
    their own school's: staff accounts are the admin's."""
    headers = auth("read,write", staff=two_schools["office"])
    before = _snapshot(session)
    for target in ("shared", "north_only"):
        if change.get("school_ids") == [] and target == "north_only":
            change = {"school_ids": [two_schools["north"].id]}
        response = client.patch(
            f"/api/v1/staff/{two_schools[target].id}", headers=headers, json=change
        )
        assert response.status_code == 403, (target, response.text)
    assert _snapshot(session) == before
    assert not verify_password(PASSWORD, two_schools["shared"].password_hash)


def test_a_school_admin_key_cannot_change_a_teacher_shared_with_another_school(
    client, auth, session, two_schools
):
    headers = auth("admin", school=two_schools["north"])
    before = _snapshot(session)
    for change in ({"password": PASSWORD}, {"school_ids": [two_schools["north"].id]}):
        response = client.patch(
            f"/api/v1/staff/{two_schools['shared'].id}", headers=headers, json=change
        )
        assert response.status_code == 403, response.text
    assert _snapshot(session) == before


def test_office_staff_cannot_create_staff_or_change_school_settings(client, auth, two_schools):
    headers = auth("read,write", staff=two_schools["office"])
    created = client.post(
        "/api/v1/staff",
        headers=headers,
        json={"name": "T", "email": "t@example.org", "school_ids": [two_schools["north"].id]},
    )
    assert created.status_code == 403
    settings = client.patch(
        f"/api/v1/schools/{two_schools['north'].id}",
        headers=headers,
        json={"sms_sender": "+15125550199"},
    )
    assert settings.status_code == 403


def test_anyone_may_change_their_own_name_and_language_but_not_their_role(
    client, auth, two_schools
):
    teacher = two_schools["north_only"]
    headers = auth("read,write", staff=teacher)
    own = client.patch(
        f"/api/v1/staff/{teacher.id}", headers=headers, json={"name": "Ms. R", "ui_language": "es"}
    )
    assert own.status_code == 200, own.text
    assert own.json()["ui_language"] == "es"
    up = client.patch(f"/api/v1/staff/{teacher.id}", headers=headers, json={"role": "admin"})
    assert up.status_code == 403


def test_a_district_admin_still_manages_every_school(client, auth, two_schools):
    headers = auth("admin", staff=two_schools["district_admin"])
    school = client.post("/api/v1/schools", headers=headers, json={"name": "West"})
    assert school.status_code == 201
    promoted = client.patch(
        f"/api/v1/staff/{two_schools['shared'].id}", headers=headers, json={"role": "office"}
    )
    assert promoted.status_code == 200
    admin = client.post(
        "/api/v1/staff",
        headers=headers,
        json={"name": "Second Admin", "email": "admin2@example.org", "role": "admin"},
    )
    assert admin.status_code == 201
